//! The 200-edit burst: edits sent back to back are applied strictly in arrival order.
//!
//! Each test opens the demo case, sends 200 `didChange` notifications without waiting between
//! them and keeps its own model of the text, applying every change exactly as LSP defines it
//! (lines end at `\n`, `\r\n` or `\r`; columns count UTF-16 code units, or UTF-8 bytes when
//! negotiated). After the burst the diagnostics published for the last version must equal, in
//! code, range and message, those of a fresh document opened with the model's text, and
//! `playbook/status` must report the same counts for both. An edit applied out of order, twice,
//! at a shifted position or not at all makes the two texts, and so almost always their findings,
//! differ. Runs are seeded and deterministic; a failure names its seed.

mod common;
use common::*;
use serde_json::{Value, json};

const EDITS: usize = 200;
const CASE: &str = "fixtures/demo/working_case.yaml";
const FRESH: &str = "fixtures/demo/working_case_fresh.yaml";

/// Text inserted by the random edits: multi-byte characters (Ethiopic, an emoji with a skin-tone
/// modifier, i.e. two surrogate pairs in UTF-16, a Latin accent) and plain ASCII.
const POOL: &[&str] = &["ሰላም", "👋🏽", "é", "x", "Ab", " ", "ሰ👋🏽é", "9"];

/// Answers whose value flips between two settings, switching conditional items on and off:
/// `has_foundational_id: no` requires `identity_fallback_process`, `yes` requires the
/// foundational id's name and verification, and so on.
const TOGGLES: &[(&str, &str, &str)] = &[
    ("has_foundational_id", "yes", "no"),
    ("has_functional_id", "yes", "no"),
    ("registration_channel", "both", "online"),
    ("existing_data", "brownfield", "greenfield"),
    ("hosting_model", "hybrid", "on-premises"),
];

/// SplitMix64: small, deterministic, good enough to pick edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Columns in UTF-16 code units (the LSP default) or UTF-8 bytes (when negotiated).
#[derive(Clone, Copy, Debug)]
enum Unit {
    Utf16,
    Utf8,
}

impl Unit {
    fn len(self, s: &str) -> u32 {
        match self {
            Unit::Utf16 => s.encode_utf16().count() as u32,
            Unit::Utf8 => s.len() as u32,
        }
    }
}

/// One content change: `range` is `None` for a full-text replacement.
#[derive(Clone, Debug)]
struct Edit {
    range: Option<((u32, u32), (u32, u32))>,
    text: String,
}

impl Edit {
    fn json(&self) -> Value {
        match self.range {
            None => json!({ "text": self.text }),
            Some((s, e)) => json!({ "range": { "start": position(s.0, s.1), "end": position(e.0, e.1) }, "text": self.text }),
        }
    }
}

/// Line start offsets as LSP defines lines: a line ends at `\n`, `\r\n` or a lone `\r`.
/// Nothing else (not U+2028, U+2029, U+0085, VT or FF) ends a line.
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    starts
}

/// The byte range of each line's content, without its line break.
fn lines(text: &str) -> Vec<(usize, usize)> {
    let starts = line_starts(text);
    (0..starts.len())
        .map(|i| {
            let start = starts[i];
            let mut end = starts.get(i + 1).copied().unwrap_or(text.len());
            let content = &text[start..end];
            end -= content.len() - content.trim_end_matches(['\n', '\r']).len();
            (start, end)
        })
        .collect()
}

/// The LSP position of byte offset `offset` (a char boundary) of `text`.
fn pos_of(text: &str, offset: usize, unit: Unit) -> (u32, u32) {
    let all = lines(text);
    let line = all.iter().rposition(|&(start, _)| start <= offset).unwrap();
    let (start, end) = all[line];
    assert!(offset <= end, "offset {offset} inside a line break");
    (line as u32, unit.len(&text[start..offset]))
}

/// The byte offset of a valid LSP position (on a character boundary, within its line).
fn offset_of(text: &str, (line, col): (u32, u32), unit: Unit) -> usize {
    let (start, end) = lines(text)[line as usize];
    let mut units = 0;
    for (i, ch) in text[start..end].char_indices() {
        if units == col {
            return start + i;
        }
        assert!(units < col, "column {col} splits a character on line {line}");
        units += unit.len(ch.encode_utf8(&mut [0; 4]));
    }
    assert_eq!(units, col, "column {col} past the end of line {line}");
    end
}

/// Apply a change to the model exactly as the protocol defines it.
fn apply(text: &mut String, edit: &Edit, unit: Unit) {
    match edit.range {
        None => *text = edit.text.clone(),
        Some((s, e)) => {
            let (s, e) = (offset_of(text, s, unit), offset_of(text, e, unit));
            assert!(s <= e, "generated a reversed range");
            text.replace_range(s..e, &edit.text);
        }
    }
}

/// A random character boundary in `text[from..to]`, inclusive of both ends.
fn boundary(rng: &mut Rng, text: &str, from: usize, to: usize) -> usize {
    let mut candidates: Vec<usize> = text[from..to].char_indices().map(|(i, _)| from + i).collect();
    candidates.push(to);
    *rng.pick(&candidates)
}

/// A line `  key: value` of `answers:` whose value is a plain one-line scalar that stays a
/// plain scalar whatever characters from [`POOL`] go into it: (line, value start, line end).
fn plain_answers(text: &str) -> Vec<(usize, usize, usize)> {
    lines(text)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (start, end))| {
            let line = &text[start..end];
            let rest = line.strip_prefix("  ")?;
            let colon = rest.find(": ")?;
            let key = &rest[..colon];
            let value = &rest[colon + 2..];
            let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            let value_ok = value.chars().next().is_some_and(|c| c.is_alphanumeric()) && !value.contains('#') && !value.contains(": ");
            (key_ok && value_ok).then_some((i, start + 2 + colon + 2, end))
        })
        .collect()
}

/// Comment lines: anything may be inserted after their `#`.
fn comments(text: &str) -> Vec<(usize, usize)> {
    lines(text).into_iter().filter_map(|(start, end)| text[start..end].find('#').map(|h| (start + h + 1, end))).collect()
}

/// Generates a burst of edits over the model, keeping it in step.
struct Burst {
    rng: Rng,
    unit: Unit,
    text: String,
    /// Whole answer lines deleted so far (with their line break), to restore later.
    stash: Vec<String>,
    /// Changes that undo the previous notification's disruptive edit, sent next.
    undo: Option<Vec<Edit>>,
}

impl Burst {
    fn range_edit(&self, from: usize, to: usize, text: &str) -> Edit {
        Edit { range: Some((pos_of(&self.text, from, self.unit), pos_of(&self.text, to, self.unit))), text: text.to_string() }
    }

    /// Apply `edit` to the model and return it.
    fn take(&mut self, edit: Edit) -> Edit {
        apply(&mut self.text, &edit, self.unit);
        edit
    }

    /// The changes of the next notification, already applied to the model. `calm` forbids
    /// edits that break the YAML structure until undone (used near the end of a burst).
    fn next(&mut self, calm: bool) -> Vec<Edit> {
        if let Some(undo) = self.undo.take() {
            return undo.into_iter().map(|e| self.take(e)).collect();
        }
        loop {
            let roll = self.rng.below(100);
            let edits = match roll {
                0..30 => self.insert_into_value().map(|e| vec![e]),
                30..45 => self.delete_inside_value().map(|e| vec![e]),
                45..53 => self.insert_into_comment().map(|e| vec![e]),
                53..63 => self.delete_answer_line().map(|e| vec![e]),
                63..73 => self.restore_answer_line().map(|e| vec![e]),
                73..85 => self.flip().map(|e| vec![e]),
                85..92 => {
                    // Several changes in one notification, each against the previous result.
                    let n = 2 + self.rng.below(3);
                    let edits: Vec<Edit> = (0..n).filter_map(|_| self.insert_into_value().or_else(|| self.flip())).collect();
                    (!edits.is_empty()).then_some(edits)
                }
                92..96 if !calm => self.insert_anywhere().map(|e| vec![e]),
                96..100 if !calm => self.delete_across_lines().map(|e| vec![e]),
                _ => None,
            };
            if let Some(edits) = edits {
                return edits;
            }
        }
    }

    fn insert_into_value(&mut self) -> Option<Edit> {
        let targets = plain_answers(&self.text);
        let &(_, from, to) = self.rng.pick(Some(targets.as_slice()).filter(|t| !t.is_empty())?);
        let at = boundary(&mut self.rng, &self.text, from, to);
        let insert = *self.rng.pick(POOL);
        let edit = self.range_edit(at, at, insert);
        Some(self.take(edit))
    }

    fn delete_inside_value(&mut self) -> Option<Edit> {
        let targets = plain_answers(&self.text);
        let &(_, from, to) = self.rng.pick(Some(targets.as_slice()).filter(|t| !t.is_empty())?);
        let a = boundary(&mut self.rng, &self.text, from, to);
        let b = boundary(&mut self.rng, &self.text, from, to);
        let (a, b) = (a.min(b), a.max(b));
        if a == b {
            return None;
        }
        let edit = self.range_edit(a, b, "");
        Some(self.take(edit))
    }

    fn insert_into_comment(&mut self) -> Option<Edit> {
        let targets = comments(&self.text);
        let &(from, to) = self.rng.pick(Some(targets.as_slice()).filter(|t| !t.is_empty())?);
        let at = boundary(&mut self.rng, &self.text, from, to);
        let insert = *self.rng.pick(POOL);
        let edit = self.range_edit(at, at, insert);
        Some(self.take(edit))
    }

    /// Delete a whole `  key: value` line, from its column 0 to the next line's column 0.
    fn delete_answer_line(&mut self) -> Option<Edit> {
        let targets = plain_answers(&self.text);
        let &(line, _, _) = self.rng.pick(Some(targets.as_slice()).filter(|t| !t.is_empty())?);
        let all = lines(&self.text);
        let next = all.get(line + 1)?;
        let (start, next_start) = (all[line].0, next.0);
        self.stash.push(self.text[start..next_start].to_string());
        let edit = Edit { range: Some(((line as u32, 0), (line as u32 + 1, 0))), text: String::new() };
        Some(self.take(edit))
    }

    /// Put a deleted line back, before some answer line (so at the level of `answers:`).
    fn restore_answer_line(&mut self) -> Option<Edit> {
        if self.stash.is_empty() {
            return None;
        }
        let targets = plain_answers(&self.text);
        let &(line, _, _) = self.rng.pick(Some(targets.as_slice()).filter(|t| !t.is_empty())?);
        let restored = self.stash.swap_remove(self.rng.below(self.stash.len()));
        let edit = Edit { range: Some(((line as u32, 0), (line as u32, 0))), text: restored };
        Some(self.take(edit))
    }

    /// Flip a toggle's value (or reset it when random edits changed it).
    fn flip(&mut self) -> Option<Edit> {
        let &(key, a, b) = self.rng.pick(TOGGLES);
        let prefix = format!("  {key}: ");
        let (start, end) = lines(&self.text).into_iter().find(|&(s, e)| self.text[s..e].starts_with(&prefix))?;
        let from = start + prefix.len();
        let new = if &self.text[from..end] == a { b } else { a };
        let edit = self.range_edit(from, end, new);
        Some(self.take(edit))
    }

    /// Insert at any position of the document (keys, indentation, `playbook:`); undone next.
    fn insert_anywhere(&mut self) -> Option<Edit> {
        let all = lines(&self.text);
        let line = self.rng.below(all.len());
        let (from, to) = all[line];
        let at = boundary(&mut self.rng, &self.text, from, to);
        let insert = *self.rng.pick(POOL);
        let edit = self.range_edit(at, at, insert);
        let (l, c) = pos_of(&self.text, at, self.unit);
        self.undo = Some(vec![Edit { range: Some(((l, c), (l, c + self.unit.len(insert)))), text: String::new() }]);
        Some(self.take(edit))
    }

    /// Delete from a random position across one to three line breaks; restored next.
    fn delete_across_lines(&mut self) -> Option<Edit> {
        let all = lines(&self.text);
        let line = self.rng.below(all.len());
        let last = (line + 1 + self.rng.below(3)).min(all.len() - 1);
        if last == line {
            return None;
        }
        let a = boundary(&mut self.rng, &self.text, all[line].0, all[line].1);
        let b = boundary(&mut self.rng, &self.text, all[last].0, all[last].1);
        let removed = self.text[a..b].to_string();
        let edit = self.range_edit(a, b, "");
        let at = pos_of(&self.text, a, self.unit);
        self.undo = Some(vec![Edit { range: Some((at, at)), text: removed }]);
        Some(self.take(edit))
    }
}

/// `(code, range, message)` of every diagnostic, in published order.
fn triples(published: &Value) -> Vec<(Value, Value, Value)> {
    published["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| (d["code"].clone(), d["range"].clone(), d["message"].clone()))
        .collect()
}

fn case_status(status: &Value, uri: &str) -> Value {
    let case = status["cases"].as_array().unwrap().iter().find(|c| c["uri"] == uri);
    let case = case.unwrap_or_else(|| panic!("no status for {uri}: {status}"));
    json!({ "answered": case["answered"], "required": case["required"], "missing": case["missing"] })
}

/// After a burst on `uri` ending at `version`: the last diagnostics carry that version and agree
/// with a fresh document holding `expected`; so does `playbook/status`. Returns the diagnostics.
async fn check_against_fresh(client: &Client, uri: &str, version: i64, expected: &str, label: &str) -> Vec<(Value, Value, Value)> {
    client.wait_idle().await;
    let published = client.diagnostics(uri).unwrap_or_else(|| panic!("{label}: no diagnostics for the case"));
    assert_eq!(published["version"], version, "{label}: the last diagnostics must carry the last version");

    // Diagnostics were never published for an older version after a newer one, nor for the
    // file on disk (no version: it was indexed before it was opened) once it was open.
    let versions: Vec<Option<i64>> = client
        .notifications
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
        .map(|n| n["params"]["version"].as_i64())
        .skip_while(Option::is_none)
        .collect();
    assert!(versions.iter().all(Option::is_some), "{label}: published without a version while open: {versions:?}");
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{label}: diagnostics published out of order: {versions:?}");

    let fresh = client.open_text(FRESH, expected).await;
    client.wait_idle().await;
    let fresh_published = client.diagnostics(&fresh).unwrap_or_else(|| panic!("{label}: no diagnostics for the fresh copy"));
    assert_eq!(fresh_published["version"], 1);
    let (burst, fresh_triples) = (triples(&published), triples(&fresh_published));
    assert_eq!(burst, fresh_triples, "{label}: diagnostics after the burst differ from a fresh open of the model's text:\n{expected}");

    let status = client.call("playbook/status", json!(null)).await;
    assert_eq!(status["busy"], false, "{label}: {status}");
    let (a, b) = (case_status(&status, uri), case_status(&status, &fresh));
    assert_eq!(a, b, "{label}: status counts differ");
    assert!(a["required"].as_u64().unwrap() > 0, "{label}: the case lost its playbook: {a}");
    burst
}

/// Open the demo case, send `EDITS` incremental changes back to back, check the result.
async fn incremental_burst(seed: u64, utf8: bool) {
    let label = format!("seed {seed}{}", if utf8 { " (UTF-8)" } else { "" });
    let root = workspace(&format!("burst-{seed}-{utf8}"));
    let client = Client::start(&root, capabilities(true, utf8)).await;
    let text = std::fs::read_to_string(root.join(CASE)).unwrap();
    let uri = client.open_text(CASE, &text).await;
    client.wait_idle().await;
    let unit = if utf8 { Unit::Utf8 } else { Unit::Utf16 };
    let mut burst = Burst { rng: Rng(seed), unit, text, stash: Vec::new(), undo: None };
    let mut version = 1;
    let mut changes = 0;
    for i in 0..EDITS {
        let edits = burst.next(i + 3 >= EDITS);
        changes += edits.len();
        version = client.change(&uri, Value::Array(edits.iter().map(Edit::json).collect())).await;
    }
    assert_eq!(version, EDITS as i64 + 1);
    let found = check_against_fresh(&client, &uri, version, &burst.text, &label).await;
    let mut codes: Vec<&str> = found.iter().map(|t| t.0.as_str().unwrap_or("?")).collect();
    codes.sort_unstable();
    codes.dedup();
    println!("{label}: {EDITS} notifications, {changes} changes, {} diagnostics at the end ({codes:?})", found.len());
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_incremental_edits_seed_1() {
    incremental_burst(1, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_incremental_edits_seed_2() {
    incremental_burst(0x5EED_0002, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_incremental_edits_seed_3() {
    incremental_burst(0xC0FF_EE03, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_incremental_edits_seed_4() {
    incremental_burst(4_000_004, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_incremental_edits_in_utf8_columns() {
    incremental_burst(0x0008_0008, true).await;
}

/// 200 full-text changes (no range); every tenth notification also carries an incremental
/// change after the full text, which must apply to that new text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_full_text_changes() {
    let root = workspace("burst-full");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(CASE)).unwrap();
    let uri = client.open_text(CASE, &text).await;
    client.wait_idle().await;
    let mut burst = Burst { rng: Rng(0xF011), unit: Unit::Utf16, text, stash: Vec::new(), undo: None };
    let mut version = 1;
    for i in 0..EDITS {
        burst.next(i + 3 >= EDITS);
        let mut changes = vec![Edit { range: None, text: burst.text.clone() }];
        if i % 10 == 9 {
            changes.extend(burst.insert_into_value().or_else(|| burst.flip()));
        }
        version = client.change(&uri, Value::Array(changes.iter().map(Edit::json).collect())).await;
    }
    check_against_fresh(&client, &uri, version, &burst.text, "full text").await;
    client.shutdown().await;
}

/// LSP ends lines only at `\n`, `\r\n` and `\r` (VS Code shows U+2028 as an "unusual line
/// terminator" but does not break the line there). A document holding U+2028, U+2029 or U+0085
/// must still take later edits at the lines and columns the client means.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_line_separators_are_not_line_breaks_for_edits() {
    let root = workspace("burst-separators");
    let client = Client::start(&root, capabilities(true, false)).await;
    let mut text = std::fs::read_to_string(root.join(CASE)).unwrap();
    let uri = client.open_text(CASE, &text).await;
    let unit = Unit::Utf16;
    let mut version = 1;
    for (separator, anchor) in
        [("\u{2028}", "country: Repu"), ("\u{2029}", "implementing_organisation: Minis"), ("\u{85}", "registry_name: Aure")]
    {
        // Put the separator inside an answer, then flip an answer further down.
        let (line, col) = find(&text, anchor);
        let at = col + anchor.len() as u32;
        let insert = Edit { range: Some(((line, at), (line, at))), text: separator.to_string() };
        apply(&mut text, &insert, unit);
        let (line, col) = find(&text, "has_foundational_id: ");
        let value = offset_of(&text, (line, col + 21), unit);
        let end = lines(&text)[line as usize].1;
        let new = if &text[value..end] == "yes" { "no" } else { "yes" };
        let flip = Edit { range: Some(((line, col + 21), pos_of(&text, end, unit))), text: new.into() };
        apply(&mut text, &flip, unit);
        client.change(&uri, json!([insert.json()])).await;
        version = client.change(&uri, json!([flip.json()])).await;
    }
    check_against_fresh(&client, &uri, version, &text, "line separators").await;
    client.shutdown().await;
}

/// A lone `\r` ends a line for LSP (and for YAML and CommonMark alike), so the positions of
/// diagnostics after one must count it, as the client does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_carriage_returns_are_line_breaks_for_diagnostic_positions() {
    let root = workspace("burst-lone-cr");
    let client = Client::start(&root, capabilities(true, false)).await;
    let demo = std::fs::read_to_string(root.join(CASE)).unwrap();
    let text = demo.replace("  # Foundational ID\n  has_foundational_id: yes", "  # Foundational ID\r  has_foundational_id: maybe");
    assert_ne!(text, demo);
    let uri = client.open_text(CASE, &text).await;
    client.wait_idle().await;
    let published = client.diagnostics(&uri).expect("diagnostics");
    let at = text.find("maybe").unwrap();
    let (line, col) = pos_of(&text, at, Unit::Utf16);
    let diagnostics = published["diagnostics"].as_array().unwrap();
    let invalid = diagnostics.iter().find(|d| d["code"] == "invalid-value").unwrap_or_else(|| panic!("no invalid-value: {published}"));
    assert_eq!(invalid["range"]["start"], position(line, col), "the client counts the lone \\r as a line break: {invalid}");
    client.shutdown().await;
}
