//! The operations measured at one size, one function per operation (each undoes its writes).

use super::*;

/// Starts measuring one operation.
fn begin(cx: &mut Ctx<'_>, name: &str, unit: &'static str, per: usize) -> (Stat, Instant) {
    cx.meter.refresh();
    eprintln!("  {name}");
    (Stat::new(name, unit, per, cx.groups()), Instant::now())
}

/// Whether a timed count went through and found `want` documents (else the stat says why).
fn counted(st: &mut Stat, got: Option<usize>, want: usize) -> bool {
    match got {
        None => false,
        Some(n) if n == want => true,
        Some(n) => {
            st.error = Some(format!("{n} documents"));
            false
        }
    }
}

/// insert_one of a new document; undone by delete_one.
async fn measure_insert_one(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("insert_one") {
        let (mut st, t0) = begin(cx, "insert_one, new string _id", "op", 1);
        for k in 0..cx.calls() * 2 {
            let j = cx.fresh_id();
            let d = big_doc(Bson::String(str_id(j)), j, 1);
            if timed!(cx, st, k, set.s.insert_one(&d).await).is_none() {
                break;
            }
            set.s.delete_one(doc! {"_id": str_id(j)}).await?;
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// find_one by _id.
async fn measure_find_one(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("find_one") {
        for (label, kind) in [
            ("find_one {_id: string}, hit", 0),
            ("find_one {_id: string}, miss", 1),
            ("find_one {_id: int64}, hit (int-id coll.)", 2),
            ("find_one {_id: ObjectId}, hit (oid coll.)", 3),
        ] {
            let (mut st, t0) = begin(cx, label, "op", 1);
            for k in 0..cx.calls() * 2 {
                let j = cx.rng.below(set.n);
                let (coll, filter) = match kind {
                    0 => (&set.s, doc! {"_id": str_id(j as u64)}),
                    1 => (&set.s, doc! {"_id": str_id(2_000_000_000 + cx.rng.next() % 1_000_000_000)}),
                    2 => (&set.i, doc! {"_id": j as i64}),
                    _ => (&set.o, doc! {"_id": set.oids[j]}),
                };
                let Some(found) = timed!(cx, st, k, coll.find_one(filter).await) else { break };
                if found.is_some() != (kind != 1) {
                    st.error =
                        Some(format!("unexpected result: {}", if found.is_some() { "found" } else { "not found" }));
                    break;
                }
                if cx.done(&st, t0) {
                    break;
                }
            }
            stats.push(st);
        }
    }
    Ok(())
}

/// replace_one by _id with upsert; replace_one by {_id, v}. The documents keep v = 1 after
/// each call (the replacement has v = 1), so the {_id, v: 1} filter always matches.
async fn measure_replace_one(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("replace_one") {
        let (mut st, t0) = begin(cx, "replace_one {_id} upsert", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let d = big_doc(Bson::String(id.clone()), j + 7, 1);
            let Some(r) = timed!(cx, st, k, set.s.replace_one(doc! {"_id": &id}, &d).upsert(true).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);

        let (mut st, t0) = begin(cx, "replace_one {_id, v: n} (2-field filter)", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let d = big_doc(Bson::String(id.clone()), j + 9, 1);
            let Some(r) = timed!(cx, st, k, set.s.replace_one(doc! {"_id": &id, "v": 1i64}, &d).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// find_one_and_replace returning the document before, upsert.
async fn measure_find_one_and_replace(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("find_one_and_replace") {
        let (mut st, t0) = begin(cx, "find_one_and_replace {_id} upsert, ReturnDocument::Before", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let d = big_doc(Bson::String(id.clone()), j + 11, 1);
            let Some(prev) = timed!(
                cx,
                st,
                k,
                set.s
                    .find_one_and_replace(doc! {"_id": &id}, &d)
                    .upsert(true)
                    .return_document(ReturnDocument::Before)
                    .await
            ) else {
                break;
            };
            if prev.is_none() {
                st.error = Some("no previous document".into());
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// update_one with $set and with $max, upsert.
async fn measure_update_one(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("update_one") {
        let (mut st, t0) = begin(cx, "update_one {_id} {$set: title, done} upsert", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (j, id) = existing(cx, set);
            let u = doc! {"$set": {"title": format!("retitled {j} {k}"), "done": k % 2 == 0}};
            let Some(r) = timed!(cx, st, k, set.s.update_one(doc! {"_id": &id}, u).upsert(true).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);

        // $max on a separate field (w), so v stays 1 for the {_id, v} filter above.
        let (mut st, t0) = begin(cx, "update_one {_id} {$max: {w: n}} upsert", "op", 1);
        for k in 0..cx.calls() * 2 {
            let (_, id) = existing(cx, set);
            let u = doc! {"$max": {"w": (k as i64) + 1}};
            let Some(r) = timed!(cx, st, k, set.s.update_one(doc! {"_id": &id}, u).upsert(true).await) else { break };
            if r.matched_count != 1 {
                st.error = Some(format!("matched {}", r.matched_count));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// delete_one and find_one_and_delete of an existing document; undone by insert_one.
async fn measure_delete(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("delete_one") {
        for (label, fad) in [("delete_one {_id}", false), ("find_one_and_delete {_id}", true)] {
            let (mut st, t0) = begin(cx, label, "op", 1);
            for k in 0..cx.calls() * 2 {
                let (j, id) = existing(cx, set);
                let ok = if fad {
                    timed!(cx, st, k, set.s.find_one_and_delete(doc! {"_id": &id}).await).map(|d| d.is_some())
                } else {
                    timed!(cx, st, k, set.s.delete_one(doc! {"_id": &id}).await).map(|r| r.deleted_count == 1)
                };
                match ok {
                    None => break,
                    Some(false) => {
                        st.error = Some("nothing deleted".into());
                        break;
                    }
                    Some(true) => {}
                }
                set.s.insert_one(big_doc(Bson::String(id), j, 1)).await?;
                if cx.done(&st, t0) {
                    break;
                }
            }
            stats.push(st);
        }
    }
    Ok(())
}

/// insert_many of 8 and of 64 small documents; undone by delete_many.
async fn measure_insert_many(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("insert_many") {
        for batch in [8usize, 64] {
            let (mut st, t0) = begin(cx, &format!("insert_many of {batch} small docs"), "doc", batch);
            for k in 0..cx.calls() * 2 {
                let ids: Vec<u64> = (0..batch).map(|_| cx.fresh_id()).collect();
                let docs: Vec<Document> = ids.iter().map(|j| small_doc(Bson::String(str_id(*j)), *j)).collect();
                if timed!(cx, st, k, set.s.insert_many(&docs).await).is_none() {
                    break;
                }
                let keys: Vec<String> = ids.iter().map(|j| str_id(*j)).collect();
                set.s.delete_many(doc! {"_id": {"$in": keys}}).await?;
                if cx.done(&st, t0) {
                    break;
                }
            }
            stats.push(st);
        }
    }
    Ok(())
}

/// The raw update command with 8 upsert statements, and the raw delete command with 8
/// statements (undone by insert_many).
async fn measure_raw_commands(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("raw_update") {
        let (mut st, t0) = begin(cx, "raw `update` command, 8 × {q: {_id}, u: doc, upsert}", "stmt", 8);
        for k in 0..cx.calls() * 2 {
            let ids = distinct_existing(cx, set, 8);
            let updates: Vec<Document> = ids
                .iter()
                .map(|(j, id)| doc! {"q": {"_id": id}, "u": big_doc(Bson::String(id.clone()), j + 13, 1), "upsert": true})
                .collect();
            let cmd = doc! {"update": &set.s_name, "updates": updates, "ordered": true};
            let Some(r) = timed!(cx, st, k, cx.db.run_command(cmd).await) else { break };
            if r.get_i32("n").unwrap_or(-1) != 8 || r.contains_key("writeErrors") {
                st.error = Some(format!("unexpected reply {r}"));
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    if cx.wanted("raw_delete") {
        let (mut st, t0) = begin(cx, "raw `delete` command, 8 × {q: {_id}, limit: 1}", "stmt", 8);
        for k in 0..cx.calls() * 2 {
            let ids = distinct_existing(cx, set, 8);
            let deletes: Vec<Document> = ids.iter().map(|(_, id)| doc! {"q": {"_id": id}, "limit": 1}).collect();
            let cmd = doc! {"delete": &set.s_name, "deletes": deletes, "ordered": true};
            let Some(r) = timed!(cx, st, k, cx.db.run_command(cmd).await) else { break };
            if r.get_i32("n").unwrap_or(-1) != 8 || r.contains_key("writeErrors") {
                st.error = Some(format!("unexpected reply {r}"));
                break;
            }
            set.s.insert_many(ids.iter().map(|(j, id)| big_doc(Bson::String(id.clone()), *j, 1))).await?;
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// find {} on a 10-document side collection.
async fn measure_tiny_find(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("tiny_find") {
        let (mut st, t0) = begin(cx, "find {} on a 10-doc side collection", "op", 1);
        for k in 0..cx.calls() * 2 {
            let r = timed!(cx, st, k, count(set.tiny.find(doc! {}).await).await);
            if !counted(&mut st, r, 10) {
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// find {_id: {$in: [8 ids]}}.
async fn measure_find_in(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("find_in") {
        let (mut st, t0) = begin(cx, "find {_id: {$in: [8 ids]}}", "op", 1);
        for k in 0..cx.calls() * 2 {
            let ids: Vec<String> = distinct_existing(cx, set, 8).into_iter().map(|(_, id)| id).collect();
            let r = timed!(cx, st, k, count(set.s.find(doc! {"_id": {"$in": ids}}).await).await);
            if !counted(&mut st, r, 8) {
                break;
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// A page: find {_id: {$gt: x}} sort {_id: 1} limit 200 (x drawn so a full page exists
/// most of the time; the page may be short near the end).
async fn measure_range_page(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    if cx.wanted("range_page") {
        let (mut st, t0) = begin(cx, "find {_id: {$gt: x}}.sort(_id).limit(200)", "page", 1);
        for k in 0..cx.calls() * 2 {
            let (_, x) = existing(cx, set);
            let r = timed!(
                cx,
                st,
                k,
                async {
                    let mut c =
                        set.s.find(doc! {"_id": {"$gt": &x}}).sort(doc! {"_id": 1}).limit(200).batch_size(200).await?;
                    let mut n = 0;
                    let mut last = String::new();
                    while c.advance().await? {
                        let id = c.current().get_str("_id").unwrap_or("").to_string();
                        if id <= last {
                            last = "unsorted".into();
                            break;
                        }
                        last = id;
                        n += 1;
                    }
                    Ok::<_, mongodb::error::Error>((n, last))
                }
                .await
            );
            match r {
                None => break,
                Some((_, l)) if l == "unsorted" => {
                    st.error = Some("page not sorted by _id".into());
                    break;
                }
                Some((n, _)) if n > 200 => {
                    st.error = Some(format!("{n} documents in a page"));
                    break;
                }
                _ => {}
            }
            if cx.done(&st, t0) {
                break;
            }
        }
        stats.push(st);
    }
    Ok(())
}

/// The whole collection read through one cursor, find {} sort {_id: 1} (and, apart,
/// without a sort: natural order), batches of 200: the first batch (the query itself)
/// and the following ones (getMore) apart.
async fn measure_whole_cursor(cx: &mut Ctx<'_>, set: &Set, stats: &mut Vec<Stat>) -> AnyResult<()> {
    for (key, sorted) in [("scan", true), ("scan_natural", false)] {
        if !cx.wanted(key) {
            continue;
        }
        cx.meter.refresh();
        let (first_name, next_name) = if sorted {
            ("scan: find {}.sort(_id), first batch of 200", "scan: same cursor, each next batch of 200 (getMore)")
        } else {
            ("scan: find {} (no sort), first batch of 200", "scan (no sort): each next batch of 200 (getMore)")
        };
        eprintln!("  {first_name}");
        let mut first = Stat::new(first_name, "batch", 1, cx.groups());
        let mut next = Stat::new(next_name, "batch", 1, cx.groups());
        let per_scan = set.n.div_ceil(200).max(1);
        let scans = (cx.iters.div_ceil(per_scan)).clamp(2, 40);
        let t0 = Instant::now();
        'scans: for _ in 0..scans {
            let mut mark = cx.meter.start();
            let find = set.s.find(doc! {}).batch_size(200);
            let find = if sorted { find.sort(doc! {"_id": 1}) } else { find };
            let mut c = match find.await {
                Ok(c) => c,
                Err(e) => {
                    first.error = Some(e.to_string());
                    break;
                }
            };
            let mut n = 0usize;
            let mut in_batch = 0usize;
            loop {
                let more = match c.advance().await {
                    Ok(m) => m,
                    Err(e) => {
                        next.error = Some(e.to_string());
                        break 'scans;
                    }
                };
                if more {
                    n += 1;
                    in_batch += 1;
                }
                if in_batch == 200 || (!more && in_batch > 0) {
                    let s = cx.meter.stop(&mark);
                    if n <= 200 {
                        first.push(s);
                    } else {
                        next.push(s);
                    }
                    in_batch = 0;
                    mark = cx.meter.start();
                }
                if !more {
                    break;
                }
            }
            if n != set.n {
                first.error = Some(format!("scan returned {n} documents, expected {}", set.n));
                break;
            }
            if t0.elapsed() > cx.budget * 2 {
                break;
            }
        }
        stats.push(first);
        if set.n > 200 {
            stats.push(next);
        }
    }
    Ok(())
}

/// Every operation at one size, in order.
pub(crate) async fn run_size(cx: &mut Ctx<'_>, set: &Set) -> AnyResult<Vec<Stat>> {
    let mut stats = vec![];
    measure_insert_one(cx, set, &mut stats).await?;
    measure_find_one(cx, set, &mut stats).await?;
    measure_replace_one(cx, set, &mut stats).await?;
    measure_find_one_and_replace(cx, set, &mut stats).await?;
    measure_update_one(cx, set, &mut stats).await?;
    measure_delete(cx, set, &mut stats).await?;
    measure_insert_many(cx, set, &mut stats).await?;
    measure_raw_commands(cx, set, &mut stats).await?;
    measure_tiny_find(cx, set, &mut stats).await?;
    measure_find_in(cx, set, &mut stats).await?;
    measure_range_page(cx, set, &mut stats).await?;
    measure_whole_cursor(cx, set, &mut stats).await?;
    Ok(stats)
}
