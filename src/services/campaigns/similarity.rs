//! The pure part of campaign detection: text normalisation, word shingles, MinHash signatures,
//! LSH banding and union-find. No database, no clock, no randomness: the same texts always give
//! the same clusters, on every machine and every run.
//!
//! Cost is about linear in the number of texts: each text gets one signature, each signature is
//! cut into bands, and only texts that share a band bucket are ever compared. Inside a bucket a
//! text is compared with at most [`LEADERS_PER_BUCKET`] earlier texts, so a campaign of 10,000
//! identical letters costs 10,000 comparisons per band, not 50 million.

/// Words per shingle.
pub const DEFAULT_SHINGLE_WORDS: usize = 3;
/// Hash functions per signature.
pub const DEFAULT_HASHES: usize = 128;
/// Estimated Jaccard similarity of word shingles at which two texts count as the same letter.
/// Tuned with the campaign acceptance test (tests/api/campaigns.rs): variants of one ~80-word
/// form letter (other signer, other punctuation, an extra sentence) score 0.72–1.0 with each
/// other, distinct comments that share one of their three sentences at most 0.30.
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// Fewer near-identical texts than this are not a campaign.
pub const DEFAULT_MIN_SIZE: usize = 3;
/// How many earlier, mutually dissimilar texts of one bucket a text is compared with.
pub const LEADERS_PER_BUCKET: usize = 8;
/// The probability that a pair exactly at the threshold becomes a candidate, which the banding
/// is chosen to reach.
const TARGET_RECALL: f64 = 0.95;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub shingle_words: usize,
    pub hashes: usize,
    pub threshold: f64,
    pub min_size: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            shingle_words: DEFAULT_SHINGLE_WORDS,
            hashes: DEFAULT_HASHES,
            threshold: DEFAULT_THRESHOLD,
            min_size: DEFAULT_MIN_SIZE,
        }
    }
}

/// Lowercase; every run of characters that are neither letters nor digits becomes one space;
/// no space at either end. Unicode-aware (Cyrillic, Kazakh letters such as ә, қ, ң, ө, ұ, ү, і
/// are letters). Combining marks are dropped and `ё`/`й` fold to `е`/`и`, so composed and
/// decomposed spellings of the same word agree.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'ё' => 'е',
            'й' => 'и',
            c => c,
        };
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// The hashes of a normalised text's `k`-word shingles, sorted and without repeats. A text of
/// fewer than `k` words is one shingle; an empty text has none.
pub fn shingles(normalised: &str, k: usize) -> Vec<u64> {
    let k = k.max(1);
    let words: Vec<&str> = normalised.split_whitespace().collect();
    let mut out: Vec<u64> = if words.is_empty() {
        Vec::new()
    } else if words.len() < k {
        vec![hash_words(&words)]
    } else {
        words.windows(k).map(hash_words).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// FNV-1a over the words with a separator, then a 64-bit finaliser for good low bits.
fn hash_words(words: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in w.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fmix64(h)
}

/// MurmurHash3's 64-bit finaliser: a bijection that mixes every input bit into every output bit.
fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// SplitMix64: the fixed sequence the hash functions' seeds come from.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `hashes` seeded hash functions, the same ones on every run: multiply-add-shift hashing
/// `(a·x + b) >> 32` (a odd) of the already well-mixed shingle hash.
#[derive(Debug, Clone)]
pub struct MinHasher {
    seeds: Vec<(u64, u64)>,
}

impl MinHasher {
    pub fn new(hashes: usize) -> MinHasher {
        let mut state = 0x7461_6c71_7900_0001; // "talqy", fixed forever: signatures must not drift
        MinHasher {
            seeds: (0..hashes.max(1))
                .map(|_| (splitmix64(&mut state) | 1, splitmix64(&mut state)))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.seeds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty()
    }

    /// For each hash function, the smallest value over the shingles; `None` without shingles.
    pub fn signature(&self, shingles: &[u64]) -> Option<Vec<u32>> {
        if shingles.is_empty() {
            return None;
        }
        let mut sig = vec![u32::MAX; self.seeds.len()];
        for &s in shingles {
            for (slot, &(a, b)) in sig.iter_mut().zip(&self.seeds) {
                let h = (a.wrapping_mul(s).wrapping_add(b) >> 32) as u32;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        Some(sig)
    }
}

/// The share of positions where two signatures agree: an estimate of the Jaccard similarity
/// of the two shingle sets.
pub fn estimated_similarity(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / n as f64
}

/// Whether the estimated similarity reaches `threshold`; gives up as soon as too many
/// positions differ.
pub fn similar(a: &[u32], b: &[u32], threshold: f64) -> bool {
    let n = a.len().min(b.len());
    if n == 0 {
        return false;
    }
    let need = (threshold * n as f64).ceil().max(0.0) as usize;
    let allowed = n.saturating_sub(need);
    let mut differ = 0;
    for (x, y) in a.iter().zip(b) {
        if x != y {
            differ += 1;
            if differ > allowed {
                return false;
            }
        }
    }
    true
}

/// Bands × rows for a signature of `hashes` values: the most rows per band (fewest spurious
/// candidates) such that a pair exactly at `threshold` still shares a bucket in at least one
/// band with probability [`TARGET_RECALL`].
pub fn banding(threshold: f64, hashes: usize) -> (usize, usize) {
    let hashes = hashes.max(1);
    let mut best = (hashes, 1);
    for rows in 1..=hashes {
        let bands = hashes / rows;
        let p = 1.0 - (1.0 - threshold.powi(rows as i32)).powi(bands as i32);
        if p >= TARGET_RECALL {
            best = (bands, rows);
        } else {
            break;
        }
    }
    best
}

/// What the clustering did, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub texts: usize,
    pub bands: usize,
    pub rows: usize,
    /// Signature comparisons made (a pairwise method would make texts × (texts − 1) / 2).
    pub comparisons: usize,
}

struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        let (big, small) = if self.size[a] >= self.size[b] {
            (a, b)
        } else {
            (b, a)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
    }
}

/// Groups `(id, text)` items into clusters of near-identical texts. Only clusters of at least
/// `params.min_size` are returned: largest first, then by smallest id; ids ascending inside.
pub fn cluster(items: &[(i64, &str)], params: &Params) -> Vec<Vec<i64>> {
    cluster_with_stats(items, params).0
}

pub fn cluster_with_stats(items: &[(i64, &str)], params: &Params) -> (Vec<Vec<i64>>, Stats) {
    let mut items: Vec<(i64, &str)> = items.to_vec();
    items.sort_by_key(|(id, _)| *id);
    items.dedup_by_key(|(id, _)| *id);

    let hasher = MinHasher::new(params.hashes);
    let signatures: Vec<Option<Vec<u32>>> = items
        .iter()
        .map(|(_, text)| hasher.signature(&shingles(&normalise(text), params.shingle_words)))
        .collect();
    let (bands, rows) = banding(params.threshold, hasher.len());
    let mut stats = Stats {
        texts: items.len(),
        bands,
        rows,
        comparisons: 0,
    };

    // One entry per band of every signature: the bucket's key (band and band values hashed
    // together) in the high 64 bits, the text's index in the low ones. Sorting brings each
    // bucket's texts together in id order, which keeps the result independent of hash-map
    // order. (Two buckets whose keys collide only cost a comparison: every candidate is checked.)
    let mut entries: Vec<u128> = Vec::with_capacity(items.len() * bands);
    for (i, sig) in signatures.iter().enumerate() {
        let Some(sig) = sig else { continue };
        for band in 0..bands {
            let mut h: u64 = fmix64(band as u64 + 1);
            for &v in &sig[band * rows..(band + 1) * rows] {
                h = fmix64(h ^ u64::from(v)).wrapping_add(0x9e37_79b9_7f4a_7c15);
            }
            entries.push((u128::from(h) << 64) | i as u128);
        }
    }
    entries.sort_unstable();

    let mut sets = UnionFind::new(items.len());
    let mut leaders: Vec<usize> = Vec::with_capacity(LEADERS_PER_BUCKET);
    let mut start = 0;
    while start < entries.len() {
        let bucket = entries[start] >> 64;
        let mut end = start + 1;
        while end < entries.len() && entries[end] >> 64 == bucket {
            end += 1;
        }
        if end - start > 1 {
            leaders.clear();
            for &entry in &entries[start..end] {
                let member = entry as u64 as usize;
                let mut joined = false;
                for &leader in &leaders {
                    if sets.find(leader) == sets.find(member) {
                        joined = true;
                        continue;
                    }
                    stats.comparisons += 1;
                    let (a, b) = (&signatures[leader], &signatures[member]);
                    if let (Some(a), Some(b)) = (a, b)
                        && similar(a, b, params.threshold)
                    {
                        sets.union(leader, member);
                        joined = true;
                    }
                }
                if !joined && leaders.len() < LEADERS_PER_BUCKET {
                    leaders.push(member);
                }
            }
        }
        start = end;
    }

    let mut by_root: std::collections::BTreeMap<usize, Vec<i64>> = Default::default();
    for (i, (id, _)) in items.iter().enumerate() {
        if signatures[i].is_some() {
            by_root.entry(sets.find(i)).or_default().push(*id);
        }
    }
    let mut clusters: Vec<Vec<i64>> = by_root
        .into_values()
        .filter(|ids| ids.len() >= params.min_size.max(2))
        .collect();
    // Ids were pushed in ascending order, so each cluster is already sorted.
    clusters.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    (clusters, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_lowercases_strips_punctuation_and_collapses_spaces() {
        assert_eq!(
            normalise("  Hello,   WORLD!! — it's\tfine...\n"),
            "hello world it s fine"
        );
        assert_eq!(normalise("¡¿...!?"), "");
        assert_eq!(normalise(""), "");
    }

    #[test]
    fn normalising_understands_russian_and_kazakh() {
        assert_eq!(
            normalise("Прошу УЧЕСТЬ замечания: «Статья 5» — исключить!"),
            "прошу учесть замечания статья 5 исключить"
        );
        assert_eq!(
            normalise("Қазақстан Республикасының ЗАҢЫ, өңірлер; ұлттық-үйлестіру Әдісі."),
            "қазақстан республикасының заңы өңірлер ұлттық үилестіру әдісі"
        );
        // Composed and decomposed spellings agree; ё reads as е.
        assert_eq!(normalise("Её мой"), normalise("Ее\u{0301} мои\u{0306}"));
        assert_eq!(normalise("ЁЛКА"), "елка");
    }

    #[test]
    fn shingles_are_three_word_windows_and_short_texts_are_one_shingle() {
        let text = normalise("one two three four five");
        assert_eq!(shingles(&text, 3).len(), 3);
        assert_eq!(shingles(&text, 5).len(), 1);
        assert_eq!(
            shingles(&text, 6),
            vec![hash_words(&["one", "two", "three", "four", "five"])]
        );
        assert_eq!(shingles("agree", 3).len(), 1);
        assert!(shingles("", 3).is_empty());
        // Repeats count once; order of the set is sorted.
        let rep = shingles("a b c a b c a b c", 3);
        assert_eq!(rep.len(), 3);
        assert!(rep.windows(2).all(|w| w[0] < w[1]));
        // Word boundaries matter: "ab c" is not "a bc".
        assert_ne!(shingles("ab c", 3), shingles("a bc", 3));
    }

    #[test]
    fn signatures_are_deterministic_and_estimate_jaccard() {
        let a = MinHasher::new(128);
        let b = MinHasher::new(128);
        assert_eq!(a.seeds, b.seeds);
        let s = shingles(&normalise("the quick brown fox jumps over the lazy dog"), 3);
        let sig = a.signature(&s).unwrap();
        assert_eq!(sig, b.signature(&s).unwrap());
        assert_eq!(sig.len(), 128);
        // Pinned: a change here would silently change every stored cluster decision.
        assert_eq!(
            sig[..4],
            [0x09d3_1c5c, 0x12aa_e06d, 0x1dbc_938d, 0x1bb2_e61b]
        );
        assert_eq!(a.signature(&[]), None);
        assert_eq!(estimated_similarity(&sig, &sig), 1.0);

        // Two sets with exact Jaccard 0.5 (100 shared of 200): the estimate is close.
        let shared: Vec<u64> = (0..100).map(fmix64).collect();
        let x: Vec<u64> = shared
            .iter()
            .copied()
            .chain((100..150).map(fmix64))
            .collect();
        let y: Vec<u64> = shared
            .iter()
            .copied()
            .chain((150..200).map(fmix64))
            .collect();
        let (sx, sy) = (a.signature(&x).unwrap(), a.signature(&y).unwrap());
        let est = estimated_similarity(&sx, &sy);
        assert!((est - 0.5).abs() < 0.15, "{est}");
        assert!(similar(&sx, &sy, est));
        assert!(!similar(&sx, &sy, est + 0.01));
        let far: Vec<u64> = (1000..1200).map(fmix64).collect();
        let est = estimated_similarity(&a.signature(&x).unwrap(), &a.signature(&far).unwrap());
        assert!(est < 0.1, "{est}");
    }

    #[test]
    fn the_hash_sequence_is_pinned() {
        // The seeds and the shingle hash are part of the algorithm's contract: results must be
        // the same on every machine and every release.
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xe220_a839_7b1d_cdaf);
        assert_eq!(fmix64(1), 0xb456_bcfc_34c2_cb2c);
    }

    #[test]
    fn banding_reaches_the_threshold_with_high_recall() {
        for t in [0.1, 0.3, 0.5, 0.7, 0.9, 0.95] {
            let (b, r) = banding(t, 128);
            assert!(b * r <= 128 && b >= 1 && r >= 1);
            let p = 1.0 - (1.0 - f64::powi(t, r as i32)).powi(b as i32);
            assert!(p >= TARGET_RECALL, "t={t} b={b} r={r} p={p}");
        }
        assert_eq!(banding(0.5, 128), (42, 3));
    }

    fn params(min_size: usize) -> Params {
        Params {
            min_size,
            ..Params::default()
        }
    }

    #[test]
    fn near_identical_texts_cluster_and_distinct_ones_do_not() {
        let letter = "We, the residents of the northern district, object to Article 5 of the \
                      draft concept because it gives one agency unchecked powers over private \
                      networks without any judicial review or public reporting.";
        let items = [
            (7, letter.to_string()),
            (3, letter.replace(',', "").replace("We", "WE")),
            (12, format!("{letter} Please reconsider.")),
            (
                5,
                "Article 5 needs a sunset clause and annual audits by parliament.".into(),
            ),
            (
                9,
                "I support the draft as published; it is long overdue.".into(),
            ),
            (1, "".into()),
            (2, "!!!".into()),
        ];
        let items: Vec<(i64, &str)> = items.iter().map(|(i, t)| (*i, t.as_str())).collect();
        assert_eq!(cluster(&items, &params(3)), vec![vec![3, 7, 12]]);
        assert_eq!(cluster(&items, &params(4)), Vec::<Vec<i64>>::new());
        // The same answer whatever the input order.
        let mut reversed = items.clone();
        reversed.reverse();
        assert_eq!(cluster(&reversed, &params(3)), vec![vec![3, 7, 12]]);
    }

    #[test]
    fn clusters_are_ordered_by_size_then_smallest_id() {
        let a = "the ministry must publish every incident report within thirty days of discovery";
        let b =
            "universities should be represented in the working group on critical infrastructure";
        let c =
            "small businesses need a simplified procedure for reporting minor security incidents";
        let mut items = Vec::new();
        for id in [40, 41, 42] {
            items.push((id, a));
        }
        for id in [10, 11, 12] {
            items.push((id, b));
        }
        for id in [20, 21, 22, 23] {
            items.push((id, c));
        }
        assert_eq!(
            cluster(&items, &params(3)),
            vec![vec![20, 21, 22, 23], vec![10, 11, 12], vec![40, 41, 42]]
        );
    }

    #[test]
    fn short_texts_only_match_the_same_short_text() {
        let items = vec![
            (1, "Agree."),
            (2, "agree"),
            (3, "AGREE!"),
            (4, "I agree"),
            (5, "Disagree"),
        ];
        assert_eq!(cluster(&items, &params(3)), vec![vec![1, 2, 3]]);
    }

    /// 20,000 distinct texts and a 2,000-letter campaign are clustered with a number of comparisons linear in their
    /// count, not the 200 million a pairwise method would make.
    #[test]
    fn twenty_thousand_texts_need_no_pairwise_comparison() {
        const SUBJECTS: [&str; 20] = [
            "the ministry",
            "every operator",
            "the regulator",
            "each bank",
            "the agency",
            "local government",
            "the national centre",
            "every university",
            "the court",
            "each provider",
            "the parliament",
            "small firms",
            "the police",
            "every hospital",
            "the telecom sector",
            "each school",
            "the auditor",
            "the ombudsman",
            "the army",
            "the energy grid",
        ];
        const VERBS: [&str; 20] = [
            "must report",
            "should publish",
            "may share",
            "has to encrypt",
            "needs to audit",
            "ought to review",
            "cannot store",
            "will protect",
            "should test",
            "must delete",
            "may not sell",
            "should document",
            "must train",
            "will monitor",
            "has to notify",
            "needs to certify",
            "should limit",
            "must explain",
            "will fund",
            "ought to log",
        ];
        const OBJECTS: [&str; 50] = [
            "incident data",
            "personal records",
            "source code",
            "network logs",
            "access keys",
            "risk assessments",
            "vendor contracts",
            "threat reports",
            "backup copies",
            "user passwords",
            "health files",
            "payment details",
            "audit trails",
            "staff lists",
            "device inventories",
            "cloud settings",
            "email archives",
            "camera footage",
            "location traces",
            "court filings",
            "tax returns",
            "exam results",
            "power readings",
            "flight plans",
            "voter rolls",
            "patent drafts",
            "crypto wallets",
            "chat histories",
            "sensor feeds",
            "firewall rules",
            "patch notes",
            "training plans",
            "budget lines",
            "procurement bids",
            "satellite images",
            "library loans",
            "pension accounts",
            "school grades",
            "border records",
            "parcel routes",
            "water metrics",
            "rail schedules",
            "phone metadata",
            "ad profiles",
            "research data",
            "union rosters",
            "press contacts",
            "grant awards",
            "land titles",
            "dns zones",
        ];
        let texts: Vec<String> = (0..20_000usize)
            .map(|i| {
                let s = SUBJECTS[i % 20];
                let v = VERBS[(i / 20) % 20];
                let o = OBJECTS[(i / 400) % 50];
                format!(
                    "{s} {v} {o} before day {i} under rule {} of the act",
                    i * 7 + 3
                )
            })
            .collect();
        // Plus a campaign of 2,000 signed copies of one letter, every 10th comment.
        let letter = "I ask the working group to remove the duty to store network logs for five \
                      years from the draft, because it is costly for small firms and risky for \
                      the privacy of every customer.";
        let mut texts: Vec<String> = texts;
        let mut campaign = Vec::new();
        for n in 0..2_000usize {
            let at = n * 10;
            texts.insert(at, format!("{letter} Signed, citizen number {n}."));
            campaign.push(at as i64 + 1);
        }
        let items: Vec<(i64, &str)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 + 1, t.as_str()))
            .collect();
        let (clusters, stats) = cluster_with_stats(&items, &params(3));
        assert_eq!(stats.texts, 22_000);
        let pairwise = 22_000 * 21_999 / 2;
        assert!(
            stats.comparisons < 22_000 * stats.bands,
            "{} comparisons, pairwise would be {pairwise}",
            stats.comparisons
        );
        assert!(stats.comparisons * 100 < pairwise);
        // Every other text has its own subject, verb and object combination.
        assert_eq!(clusters, vec![campaign]);
    }
}
