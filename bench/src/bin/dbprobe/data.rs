//! The test data: ids, documents, the filled collections, and the context of a run (with the
//! `timed!` macro every measurement goes through).

use super::*;
/// splitmix64's finaliser: a bijection on u64, so distinct inputs give distinct string ids, in an
/// order unrelated to insertion order (like random or hashed keys).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(crate) fn str_id(i: u64) -> String {
    format!("{:016x}", mix(i))
}

pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub(crate) const BODY_LEN: usize = 560;

pub(crate) fn big_doc(id: Bson, i: u64, v: i64) -> Document {
    let letters = b"abcdefghijklmnopqrstuvwxyz ";
    let body: String = (0..BODY_LEN).map(|k| letters[((i as usize) * 7 + k * 13) % letters.len()] as char).collect();
    doc! {
        "_id": id,
        "v": v,
        "title": format!("task number {i} of the probe"),
        "done": i.is_multiple_of(3),
        "owner": format!("user-{:03}", i % 97),
        "tags": ["alpha", "beta", format!("t{}", i % 11)],
        "created": mongodb::bson::DateTime::from_millis(1_700_000_000_000 + i as i64 * 1000),
        "meta": { "priority": (i % 5) as i32, "score": (i as f64) * 0.25, "source": "dbprobe" },
        "body": body,
    }
}

pub(crate) fn small_doc(id: Bson, i: u64) -> Document {
    doc! { "_id": id, "v": 1i64, "title": format!("small {i}"), "done": false, "owner": "user-001" }
}

pub(crate) fn doc_len(d: &Document) -> usize {
    let mut buf = vec![];
    d.to_writer(&mut buf).map(|_| buf.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// The probe

pub(crate) struct Ctx<'a> {
    pub(crate) db: Database,
    pub(crate) meter: &'a mut Meter,
    pub(crate) iters: usize,
    pub(crate) warmup: usize,
    pub(crate) budget: Duration,
    pub(crate) rng: Rng,
    pub(crate) fresh: u64,
    pub(crate) only: Option<Vec<String>>,
}

/// The collections of one size.
pub(crate) struct Set {
    pub(crate) n: usize,
    pub(crate) s: Collection<Document>,
    pub(crate) s_name: String,
    pub(crate) i: Collection<Document>,
    pub(crate) o: Collection<Document>,
    pub(crate) oids: Vec<ObjectId>,
    pub(crate) tiny: Collection<Document>,
}

impl Ctx<'_> {
    pub(crate) fn groups(&self) -> usize {
        self.meter.groups.len()
    }
    pub(crate) fn wanted(&self, key: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|k| k == key))
    }
    pub(crate) fn fresh_id(&mut self) -> u64 {
        self.fresh += 1;
        3_000_000_000 + self.fresh
    }
    pub(crate) fn calls(&self) -> usize {
        self.warmup + self.iters
    }
    /// Enough samples: `iters` of them, or 20 once the operation's time budget is spent, or 5
    /// once three times the budget is spent (for operations that take seconds a call).
    pub(crate) fn done(&self, st: &Stat, started: Instant) -> bool {
        let n = st.ms.len();
        let t = started.elapsed();
        n >= self.iters || (n >= 20 && t > self.budget) || (n >= 5 && t > self.budget * 3)
    }
}

/// Times `$call` (an expression awaiting a driver call) with the server CPU meter; the result
/// is bound to `$res` inside `$after` (untimed: checks and undo).
macro_rules! timed {
    ($cx:expr, $st:expr, $k:expr, $call:expr) => {{
        let mark = $cx.meter.start();
        let r = $call;
        let sample = $cx.meter.stop(&mark);
        match r {
            Ok(v) => {
                // Warm-up calls are not recorded, but a slow operation (over 250 ms a call) is
                // not warmed up further: it is recorded from its second call on.
                let _ = $k;
                if $st.warm >= $cx.warmup || ($st.warm > 0 && sample.ms > 250.0) {
                    $st.warm = usize::MAX;
                    $st.push(sample);
                } else {
                    $st.warm += 1;
                }
                Some(v)
            }
            Err(e) => {
                $st.error = Some(e.to_string());
                None
            }
        }
    }};
}

pub(crate) async fn fill(cx: &mut Ctx<'_>, n: usize, batch: usize, tag: &str) -> AnyResult<Set> {
    let s_name = format!("s{n}_{tag}");
    let s = cx.db.collection::<Document>(&s_name);
    let i = cx.db.collection::<Document>(&format!("i{n}_{tag}"));
    let o = cx.db.collection::<Document>(&format!("o{n}_{tag}"));
    let tiny = cx.db.collection::<Document>(&format!("tiny{n}_{tag}"));
    let mut oids = Vec::with_capacity(n);
    for (name, coll, kind) in [("string _id", &s, 0), ("int64 _id", &i, 1), ("ObjectId _id", &o, 2)] {
        let t = Instant::now();
        let mut k = 0;
        while k < n {
            let end = (k + batch).min(n);
            let docs: Vec<Document> = (k..end)
                .map(|j| {
                    let id = match kind {
                        0 => Bson::String(str_id(j as u64)),
                        1 => Bson::Int64(j as i64),
                        _ => {
                            let oid = ObjectId::new();
                            oids.push(oid);
                            Bson::ObjectId(oid)
                        }
                    };
                    big_doc(id, j as u64, 1)
                })
                .collect();
            coll.insert_many(docs).await?;
            k = end;
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!("  filled {n} docs ({name}) in {secs:.1} s: {:.0} docs/s", n as f64 / secs);
    }
    tiny.insert_many((0..10u64).map(|j| small_doc(Bson::String(format!("tiny-{j}")), j))).await?;
    let count = s.count_documents(doc! {}).await?;
    if count as usize != n {
        return Err(format!("{s_name} holds {count} documents, expected {n}").into());
    }
    Ok(Set { n, s, s_name, i, o, oids, tiny })
}

pub(crate) fn existing(cx: &mut Ctx<'_>, set: &Set) -> (u64, String) {
    let j = cx.rng.below(set.n) as u64;
    (j, str_id(j))
}

/// Distinct existing ids (for statements that must not touch the same document twice).
pub(crate) fn distinct_existing(cx: &mut Ctx<'_>, set: &Set, k: usize) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = vec![];
    while out.len() < k.min(set.n) {
        let e = existing(cx, set);
        if !out.iter().any(|(j, _)| *j == e.0) {
            out.push(e);
        }
    }
    out
}

/// How many documents a query's cursor yields, read to the end.
pub(crate) async fn count(cursor: mongodb::error::Result<mongodb::Cursor<Document>>) -> mongodb::error::Result<usize> {
    let mut cursor = cursor?;
    let mut n = 0;
    while cursor.advance().await? {
        n += 1;
    }
    Ok(n)
}
