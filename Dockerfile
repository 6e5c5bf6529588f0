# Talqy: one binary with its templates, translations, static files and migrations built in.
#
#   docker build -t talqy .
#   docker run -p 8080:8080 -v talqy-data:/var/lib/talqy talqy          # SQLite in the volume
#   docker run -p 8080:8080 -e TALQY_DATABASE_URL=postgres://… talqy    # PostgreSQL

# ---- build ------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build

# libpq for diesel's PostgreSQL backend; SQLite is compiled in (libsqlite3-sys "bundled").
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, in their own layer: a change to Talqy's code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# Everything the crate reads at compile time: askama finds its templates through askama.toml,
# migrations are embedded, locales and static files are included.
COPY askama.toml ./
COPY migrations ./migrations
COPY frontend ./frontend
COPY src ./src
# COPY keeps the files' own modification times, which can be older than the placeholder
# build above; touching the crate roots makes sure Cargo rebuilds Talqy itself.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked

# ---- runtime ----------------------------------------------------------------------------
FROM debian:bookworm-slim

# libpq5 for PostgreSQL, CA certificates for TLS to the database, curl for HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system talqy \
 && useradd --system --gid talqy --home-dir /var/lib/talqy --shell /usr/sbin/nologin talqy \
 && install -d -o talqy -g talqy -m 0750 /var/lib/talqy

COPY --from=build /src/target/release/talqy /usr/local/bin/talqy

USER talqy
# The default SQLite database (sqlite://data/talqy.db) is relative to this folder, so it lands
# in /var/lib/talqy/data/talqy.db; mount a volume here to keep it.
WORKDIR /var/lib/talqy
ENV TALQY_BIND=0.0.0.0:8080 \
    TALQY_DATA_DIR=/var/lib/talqy
EXPOSE 8080

# Liveness only; /readyz also checks the database. Assumes the default port 8080.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1

# SIGTERM (docker stop) drains requests in flight for up to 10 s before exiting.
ENTRYPOINT ["talqy"]
CMD ["serve"]
