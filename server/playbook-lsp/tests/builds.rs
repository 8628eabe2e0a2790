//! Builds through the server: trust, the run/stop commands, `playbook/buildEvent` order,
//! replay, `$/progress` and the code lenses that follow the jobs on disk.

mod common;

use common::{Client, capabilities, uri};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A one-phase playbook whose Activities run these scripts, and its case, in a fresh folder.
fn build_workspace(name: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("playbook-lsp-build-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut playbook = String::from(
        "# Build test playbook\n\n## Phase 1: Build\n\n### Purpose\n\nExercise builds from the editor.\n\n\
         ### Discovery items\n\n#### greeting\n\n* **Ask:** What should the first step print?\n\
         * **Why:** Shows that answers reach scripts.\n* **Required:** yes\n* **Type:** text\n* **Impact:** informational\n\n\
         ### Activities\n\n",
    );
    for (i, (activity, script)) in scripts.iter().enumerate() {
        playbook.push_str(&format!(
            "#### {}. {activity}\n\n* **Inputs:** `greeting`.\n* **Side effects:** workspace — writes files.\n* **On failure:** abort.\n\n\
             Runs a script.\n\n```sh run\n{script}\n```\n\n",
            i + 1
        ));
    }
    std::fs::write(dir.join("playbook.md"), playbook).unwrap();
    std::fs::write(dir.join("working_case.yaml"), "playbook: playbook.md\nanswers:\n  greeting: hello from the editor\n").unwrap();
    dir.canonicalize().unwrap()
}

fn build_capabilities() -> Value {
    let mut caps = capabilities(false, false);
    caps["window"] = json!({ "workDoneProgress": true });
    caps["workspace"]["codeLens"] = json!({ "refreshSupport": true });
    caps
}

async fn trusted(root: &Path) -> Arc<Client> {
    Client::start_with(root, build_capabilities(), json!({ "trustedWorkspace": true })).await
}

/// The `playbook/buildEvent` params received so far for `job`.
fn events(client: &Client, job: &str) -> Vec<Value> {
    let notifications = client.notifications.lock().unwrap();
    notifications
        .iter()
        .filter(|n| n["method"] == "playbook/buildEvent" && n["params"]["job"] == job)
        .map(|n| n["params"].clone())
        .collect()
}

async fn wait_summary(client: &Client, job: &str, secs: u64) -> Vec<Value> {
    client
        .wait_until(secs, "the build's summary event", |all| {
            all.iter().any(|n| n["method"] == "playbook/buildEvent" && n["params"]["job"] == job && n["params"]["kind"] == "summary")
        })
        .await;
    events(client, job)
}

/// Titles of the lenses on the line of `needle` in the playbook.
async fn lens_titles(client: &Client, playbook: &Path, needle: &str) -> Vec<String> {
    let text = std::fs::read_to_string(playbook).unwrap();
    let line = text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in the playbook")) as u64;
    common::lens_titles_at(client, &uri(playbook), line).await
}

/// Poll the lenses until one on `needle`'s line starts with `prefix` (lenses follow job.json).
async fn wait_lens(client: &Client, playbook: &Path, needle: &str, prefix: &str) -> Vec<String> {
    for _ in 0..200 {
        let titles = lens_titles(client, playbook, needle).await;
        if titles.iter().any(|t| t.starts_with(prefix)) {
            return titles;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no lens starting with {prefix:?} on {needle}: {:?}", lens_titles(client, playbook, needle).await);
}

#[tokio::test]
async fn an_untrusted_workspace_runs_nothing_until_trust_is_granted() {
    let root = build_workspace("untrusted", &[("make_marker", "touch \"$HOME/never\"; echo ran > ran.txt")]);
    let client = Client::start(&root, build_capabilities()).await;
    let case = client.open("working_case.yaml").await;
    client.wait_idle().await;

    let titles = lens_titles(&client, &root.join("playbook.md"), "make_marker").await;
    assert_eq!(titles, vec!["not run".to_string()], "status is shown, but no ▶ Run while untrusted");
    for (command, args) in
        [("playbook.runBuild", json!({ "uri": case })), ("playbook.runActivity", json!({ "uri": case, "activity": "make_marker" }))]
    {
        let response = client.request("workspace/executeCommand", json!({ "command": command, "arguments": [args] })).await;
        let message = response["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("not trusted"), "{command}: {response}");
    }
    assert!(!root.join(".playbook").exists(), "nothing was created, so nothing ran");
    let actions = client
        .call(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": case }, "range": { "start": common::position(0, 0), "end": common::position(0, 0) }, "context": { "diagnostics": [] } }),
        )
        .await;
    assert!(!actions.to_string().contains("playbook.runBuild"), "no run action while untrusted: {actions}");

    // The editor grants trust: the same command now runs.
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "playbook": { "trustedWorkspace": true } } })).await;
    let started = client.call("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case }] })).await;
    let job = started["job"].as_str().unwrap().to_string();
    let all = wait_summary(&client, &job, 20).await;
    assert_eq!(all.last().unwrap()["status"], "succeeded", "{all:#?}");
    assert!(root.join(".playbook/builds").join(&job).join("workspace/ran.txt").is_file());
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_build_streams_every_event_in_order_and_the_lenses_follow() {
    let root = build_workspace(
        "stream",
        &[
            ("say_hello", "printf '%s\\n' \"$PLAYBOOK_GREETING\""),
            ("count_lines", "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done"),
        ],
    );
    let client = trusted(&root).await;
    let playbook = root.join("playbook.md");
    let case = client.open("working_case.yaml").await;
    client.wait_idle().await;

    let before = lens_titles(&client, &playbook, "count_lines").await;
    assert_eq!(before, vec!["not run".to_string(), "▶ Run".to_string()]);
    let phase = lens_titles(&client, &playbook, "## Phase 1").await;
    assert_eq!(phase[0], "Phase 1 (current) · answered 1/1 · not built", "{phase:?}");

    let started = client.call("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case }] })).await;
    let job = started["job"].as_str().unwrap().to_string();
    assert_eq!(started["uri"], case);
    let all = wait_summary(&client, &job, 30).await;

    // Every event, in order, ids 1..n without a gap.
    let ids: Vec<u64> = all.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    let kinds: Vec<&str> = all.iter().map(|e| e["kind"].as_str().unwrap()).filter(|k| *k != "log").collect();
    assert_eq!(kinds, ["job_start", "step_start", "step_done", "step_start", "step_done", "summary"]);
    let lines: Vec<&str> =
        all.iter().filter(|e| e["activity"] == "count_lines" && e["kind"] == "log").map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(lines.len(), 300);
    assert_eq!(lines[299], "line 299");
    assert!(all.iter().all(|e| e["uri"] == case));
    assert_eq!(all.last().unwrap()["status"], "succeeded");

    // `$/progress` on a token the server created: begin, reports, end.
    let token = client
        .server_requests
        .lock()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "window/workDoneProgress/create")
        .map(|r| r["params"]["token"].clone())
        .expect("the server asked for a progress token");
    client
        .wait_until(10, "progress end", |all| {
            all.iter().any(|n| n["method"] == "$/progress" && n["params"]["token"] == token && n["params"]["value"]["kind"] == "end")
        })
        .await;
    let progress: Vec<String> = client
        .notifications
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n["method"] == "$/progress" && n["params"]["token"] == token)
        .map(|n| n["params"]["value"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(progress.first().map(String::as_str), Some("begin"));
    assert_eq!(progress.last().map(String::as_str), Some("end"));
    assert!(progress.iter().filter(|k| *k == "report").count() >= 4, "{progress:?}");

    // Run actions: the build in the case, the Activity under the cursor in the playbook.
    let in_case = client
        .call(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": case }, "range": { "start": common::position(0, 0), "end": common::position(0, 0) }, "context": { "diagnostics": [] } }),
        )
        .await;
    let titles: Vec<&str> = in_case.as_array().unwrap().iter().filter_map(|a| a["title"].as_str()).collect();
    assert!(titles.contains(&"Run the build of Phase 1"), "{titles:?}");
    client.open("playbook.md").await;
    let (line, _) = common::find(&std::fs::read_to_string(&playbook).unwrap(), "count_lines");
    let on_activity = client
        .call(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri(&playbook) }, "range": { "start": common::position(line, 0), "end": common::position(line, 0) }, "context": { "diagnostics": [] } }),
        )
        .await;
    let run_activity =
        on_activity.as_array().unwrap().iter().find(|a| a["command"]["command"] == "playbook.runActivity").expect("a run action");
    assert_eq!(run_activity["title"], "Run Activity `count_lines`");
    assert_eq!(run_activity["command"]["arguments"][0]["activity"], "count_lines");

    // The lenses read the job from disk.
    let after = wait_lens(&client, &playbook, "count_lines", "✓").await;
    assert!(after[0].starts_with("✓ ") && after[0].ends_with(" · just now"), "{after:?}");
    let phase = wait_lens(&client, &playbook, "## Phase 1", "Phase 1 (current) · answered 1/1 · last build ✓ succeeded").await;
    assert!(phase.contains(&"▶ Run build".to_string()));
    let status = client.call("playbook/status", json!(null)).await;
    assert_eq!(status["cases"][0]["lastBuild"]["job"], job.as_str());
    assert_eq!(status["cases"][0]["lastBuild"]["status"], "succeeded");

    // Replay: the events after an id, identical to what was streamed.
    let replayed = client.call("playbook/buildEvents", json!({ "job": job, "after": 5 })).await;
    assert_eq!(replayed.as_array().unwrap().as_slice(), &all[5..]);
    let bad = client.request("playbook/buildEvents", json!({ "job": "../../etc", "after": 0 })).await;
    assert!(bad["error"]["message"].as_str().unwrap().contains("not a job id"), "{bad}");
    let unknown = client.request("playbook/buildEvents", json!({ "job": "20990101T000000000Z-1-0" })).await;
    assert!(unknown["error"]["message"].as_str().unwrap().contains("no job"), "{unknown}");

    // An unchanged re-run skips both steps; the lens still says it succeeded.
    let again = client.call("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case }] })).await;
    let again = wait_summary(&client, again["job"].as_str().unwrap(), 30).await;
    assert_eq!(again.iter().filter(|e| e["kind"] == "step_skip").count(), 2);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn stop_ends_the_running_step_and_lenses_show_failures() {
    let root = build_workspace(
        "stop",
        &[("quick", "echo quick"), ("fails", "echo about to fail; exit 3"), ("sleeps", "sleep 30 & sleep 30; wait")],
    );
    let client = trusted(&root).await;
    let playbook = root.join("playbook.md");
    let case = client.open("working_case.yaml").await;
    client.wait_idle().await;

    // A failure, shown with its first line.
    let run = client.call("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case }] })).await;
    let all = wait_summary(&client, run["job"].as_str().unwrap(), 20).await;
    assert_eq!(all.last().unwrap()["status"], "failed");
    assert!(all.iter().all(|e| e["activity"] != "sleeps"), "nothing after the failure ran");
    let titles = wait_lens(&client, &playbook, "fails", "✗").await;
    assert!(titles[0].starts_with("✗ failed: exited with status 3"), "{titles:?}");
    assert_eq!(lens_titles(&client, &playbook, "sleeps").await[0], "not run");

    // Running one Activity: only it runs; a second start while it runs is refused; Stop ends it.
    let args = json!({ "uri": uri(&playbook), "case": case, "activity": "sleeps" });
    let run = client.call("workspace/executeCommand", json!({ "command": "playbook.runActivity", "arguments": [args] })).await;
    let job = run["job"].as_str().unwrap().to_string();
    client
        .wait_until(10, "the sleeping step started", |all| {
            all.iter()
                .any(|n| n["method"] == "playbook/buildEvent" && n["params"]["job"] == job.as_str() && n["params"]["kind"] == "step_start")
        })
        .await;
    wait_lens(&client, &playbook, "sleeps", "⟳ running").await;
    let twice = client.request("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case }] })).await;
    assert!(twice["error"]["message"].as_str().unwrap().contains("already running"), "{twice}");

    let stopped_at = std::time::Instant::now();
    let stopped = client.call("workspace/executeCommand", json!({ "command": "playbook.stopBuild", "arguments": [{ "uri": case }] })).await;
    assert_eq!(stopped["stopped"], json!([job]));
    let all = wait_summary(&client, &job, 10).await;
    println!("stop → summary in {:?}", stopped_at.elapsed());
    assert_eq!(all.last().unwrap()["status"], "aborted");
    let started: Vec<&str> = all.iter().filter(|e| e["kind"] == "step_start").map(|e| e["activity"].as_str().unwrap()).collect();
    assert_eq!(started, ["sleeps"]);
    wait_lens(&client, &playbook, "sleeps", "■ stopped").await;
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(".playbook/builds").join(&job).join("job.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "aborted");

    // The cancel button of the build's progress stops it too.
    let args = json!({ "uri": uri(&playbook), "case": case, "activity": "sleeps" });
    let run = client.call("workspace/executeCommand", json!({ "command": "playbook.runActivity", "arguments": [args] })).await;
    let job = run["job"].as_str().unwrap().to_string();
    client
        .wait_until(10, "the progress began", |all| {
            all.iter().any(|n| n["method"] == "$/progress" && n["params"]["token"].as_str().is_some_and(|t| t.contains(job.as_str())))
        })
        .await;
    client.notify("window/workDoneProgress/cancel", json!({ "token": format!("playbook/build/{job}") })).await;
    let all = wait_summary(&client, &job, 10).await;
    assert_eq!(all.last().unwrap()["status"], "aborted");

    // Bad arguments are refused with a message, not a panic.
    let bad =
        client.request("workspace/executeCommand", json!({ "command": "playbook.runActivity", "arguments": [{ "uri": case }] })).await;
    assert!(bad["error"]["message"].as_str().unwrap().contains("needs `activity`"), "{bad}");
    let bad = client
        .request("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case, "bogus": 1 }] }))
        .await;
    assert!(bad["error"]["message"].as_str().unwrap().contains("bad argument"), "{bad}");
    let nothing = client.call("workspace/executeCommand", json!({ "command": "playbook.stopBuild" })).await;
    assert_eq!(nothing["stopped"], json!([]));
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_job_left_running_by_a_dead_server_shows_interrupted_and_is_recorded_when_trusted() {
    let root = build_workspace("dead", &[("quick", "echo quick")]);
    // A job whose writer is gone (pid 0 is never a live build process).
    let dir = root.join(".playbook/builds/20260101T000000000Z-1-0");
    std::fs::create_dir_all(dir.join("workspace")).unwrap();
    let record = json!({ "id": "20260101T000000000Z-1-0", "status": "running", "pid": 0, "started": "2026-01-01T00:00:00.000Z", "phase": 1,
        "steps": [{ "activity": "quick", "index": 0, "status": "running", "hash": "x" }] });
    std::fs::write(dir.join("job.json"), record.to_string()).unwrap();
    std::fs::write(
        dir.join("events.jsonl"),
        "{\"id\":1,\"job\":\"20260101T000000000Z-1-0\",\"ts\":\"x\",\"kind\":\"job_start\"}\n{\"id\":2,\"jo",
    )
    .unwrap();

    // Untrusted: shown as interrupted, files untouched.
    let client = Client::start(&root, build_capabilities()).await;
    client.open("working_case.yaml").await;
    client.wait_idle().await;
    let titles = lens_titles(&client, &root.join("playbook.md"), "quick").await;
    assert!(titles[0].starts_with("⚠ interrupted"), "{titles:?}");
    assert!(std::fs::read_to_string(dir.join("job.json")).unwrap().contains("running"));
    client.shutdown().await;

    // Trusted: the server records the recovery.
    let client = trusted(&root).await;
    client.open("working_case.yaml").await;
    for _ in 0..200 {
        if std::fs::read_to_string(dir.join("job.json")).unwrap().contains("\"interrupted\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let record: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("job.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "interrupted");
    let replayed = client.call("playbook/buildEvents", json!({ "job": "20260101T000000000Z-1-0" })).await;
    let kinds: Vec<&str> = replayed.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["job_start", "summary"], "the torn line is cut, a summary closes the log");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_playbook_used_by_many_cases_gets_one_note_instead_of_lenses_per_case() {
    let root = build_workspace("many", &[("quick", "echo quick")]);
    for i in 1..=5 {
        let dir = root.join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("working_case.yaml"), "playbook: ../playbook.md\nanswers:\n  greeting: hi\n").unwrap();
    }
    let client = trusted(&root).await;
    let playbook = root.join("playbook.md");
    client.open("playbook.md").await;
    client.wait_idle().await;
    let lenses = client.call("textDocument/codeLens", json!({ "textDocument": { "uri": uri(&playbook) } })).await;
    let titles: Vec<&str> = lenses.as_array().unwrap().iter().map(|l| l["command"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["used by 6 working cases: open one to see its phase and build status"]);
    // In a case, its own lenses as usual.
    let case = client.open("case-1/working_case.yaml").await;
    client.wait_idle().await;
    assert!(common::lens_titles_at(&client, &case, 0).await[0].starts_with("Phase 1 (current)"));
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_client_that_never_accepts_the_progress_token_still_gets_every_event() {
    let root = build_workspace("hung-progress", &[("quick", "echo quick")]);
    let client = trusted(&root).await;
    client.unanswered.lock().unwrap().push("window/workDoneProgress/create".into());
    let case = client.open("working_case.yaml").await;
    client.wait_idle().await;
    let run = client.call("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": case }] })).await;
    let all = wait_summary(&client, run["job"].as_str().unwrap(), 15).await;
    assert_eq!(all.last().unwrap()["status"], "succeeded");
    assert!(!client.notifications.lock().unwrap().iter().any(|n| n["method"] == "$/progress"), "no progress without a token");
    let _ = std::fs::remove_dir_all(&root);
}
