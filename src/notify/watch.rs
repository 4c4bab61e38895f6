//! The template watcher: notices edits in the template directory and
//! checks every template at once, so an admin sees a mistake in the log
//! the moment the file is saved, not when the next alert fails to render.
//! (Templates are read at render time; this task only reports.)

use std::path::Path;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::notify::compose::sample_context;
use crate::notify::templates::Templates;

/// How often the directory is looked at.
const POLL: Duration = Duration::from_secs(2);

/// What the directory looks like: every file's path, size and mtime.
type DirState = Vec<(String, u64, Option<SystemTime>)>;

/// Watches until `shutdown`; checks once at start.
pub async fn run(config: std::sync::Arc<Config>, shutdown: CancellationToken) {
    let mut last: Option<DirState> = None;
    loop {
        let dir = config.templates_dir.clone();
        let state = tokio::task::spawn_blocking(move || dir_state(&dir))
            .await
            .unwrap_or_default();
        if last.as_ref() != Some(&state) {
            report(&config, last.is_some());
            last = Some(state);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

fn report(config: &Config, changed: bool) {
    let templates = Templates::new(config.templates_dir.clone());
    let problems = templates.check(&sample_context(config));
    for problem in &problems {
        tracing::error!(file = %problem.file, line = problem.line, "Template problem: {}", problem.message);
    }
    if problems.is_empty() && changed {
        tracing::info!(dir = %config.templates_dir.display(), "Templates changed; all check out");
    }
}

fn dir_state(dir: &Path) -> DirState {
    let mut state = Vec::new();
    collect(dir, &mut state, 0);
    state.sort();
    state
}

fn collect(dir: &Path, state: &mut DirState, depth: u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() && depth < 2 {
            collect(&path, state, depth + 1);
        } else if meta.is_file() {
            state.push((path.display().to_string(), meta.len(), meta.modified().ok()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_changes_the_directory_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("acknowledgement")).expect("mkdir");
        let file = dir.path().join("acknowledgement/subject.txt.j2");
        std::fs::write(&file, "Hello").expect("write");
        let before = dir_state(dir.path());
        assert_eq!(before.len(), 1);
        std::fs::write(&file, "Hello again").expect("write");
        assert_ne!(dir_state(dir.path()), before);
    }
}
