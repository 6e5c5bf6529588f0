// The portable schema: one definition for both backends (see migrations/sqlite and
// migrations/postgres, which must stay column-for-column identical).

diesel::table! {
    drafts (id) {
        id -> BigInt,
        title -> Text,
        kind -> Text,
        authority -> Text,
        summary -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    versions (id) {
        id -> BigInt,
        draft_id -> BigInt,
        number -> Integer,
        change_summary -> Text,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    provisions (id) {
        id -> BigInt,
        version_id -> BigInt,
        key -> Text,
        kind -> Text,
        position -> Integer,
        depth -> Integer,
        label -> Nullable<Text>,
        heading -> Nullable<Text>,
        body -> Text,
    }
}

diesel::table! {
    consultation_rounds (id) {
        id -> BigInt,
        draft_id -> BigInt,
        version_id -> BigInt,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    draft_transitions (id) {
        id -> BigInt,
        draft_id -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(versions -> drafts (draft_id));
diesel::joinable!(provisions -> versions (version_id));
diesel::joinable!(consultation_rounds -> drafts (draft_id));
diesel::joinable!(draft_transitions -> drafts (draft_id));

diesel::allow_tables_to_appear_in_same_query!(
    drafts,
    versions,
    provisions,
    consultation_rounds,
    draft_transitions,
);
