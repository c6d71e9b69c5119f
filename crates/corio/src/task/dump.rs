//! Task dumps: a snapshot of every live task of a runtime (asyncio's `all_tasks`).
//!
//! A dump walks the runtime's owned-task lists, one shard lock at a time, and copies out what
//! each task's header and trailer say: nothing here touches a task's future, so a dump is
//! safe to take while tasks run on other threads, and sees each task as it was at some
//! moment during the walk.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::core::Header;
use super::id::Id;
use super::raw::RawTask;

/// What a task was doing when the dump was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for a wake-up (pending on I/O, a timer, a channel...).
    Idle,
    /// Woken and waiting in a run queue for a worker.
    Scheduled,
    /// Being polled on a worker right now.
    Running,
}

impl TaskState {
    /// `"idle"`, `"scheduled"` or `"running"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One live task in a [`TaskDump`]. Plain data: every field is public.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id.
    pub id: Id,
    /// Its name, if it was spawned with one ([`Builder::name`](crate::task::Builder::name)).
    pub name: Option<String>,
    /// Its label at the time of the dump ([`set_label`](crate::task::set_label)).
    pub label: Option<&'static str>,
    /// Idle, scheduled or running.
    pub state: TaskState,
    /// Where it was spawned (the caller of `spawn`).
    pub location: &'static Location<'static>,
    /// True for a `spawn_local` task, which only its own thread may run.
    pub local: bool,
    /// How long ago it was spawned (to about 10 ms).
    pub age: Duration,
    /// How many times it has been polled.
    pub polls: u64,
    /// Time spent in its polls, sampled by the runtime's monitor every few milliseconds: exact
    /// to a sample period for long polls, a statistical estimate for short ones. `None` when
    /// slow-poll detection (and with it the monitor) is off.
    pub busy: Option<Duration>,
}

impl TaskInfo {
    /// Reads a live task. The caller holds a reference to it (or the lock of a list that does).
    pub(crate) fn read(task: RawTask, local: bool, sampled: bool) -> TaskInfo {
        let header = task.header();
        // SAFETY: the task is live per the caller.
        let trailer = unsafe { Header::trailer(task.header_ptr()) };
        let snapshot = header.state.load();
        let state = if snapshot.is_running() {
            TaskState::Running
        } else if snapshot.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        };
        TaskInfo {
            id: header.id,
            name: trailer.name.as_deref().map(str::to_owned),
            label: super::label::load(&trailer.label).map(super::Label::as_str),
            state,
            location: trailer.location,
            local,
            age: crate::runtime::clock::since(trailer.spawned_ms),
            polls: header.polls.load(Ordering::Relaxed),
            busy: sampled.then(|| Duration::from_micros(trailer.busy_us.load(Ordering::Relaxed))),
        }
    }

    /// `id "name" [label] at file:line`, as slow-poll warnings print a task.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!("task {}", self.id);
        if let Some(name) = &self.name {
            out.push_str(&format!(" {name:?}"));
        }
        if let Some(label) = self.label {
            out.push_str(&format!(" [{label}]"));
        }
        out.push_str(&format!(" spawned at {}", self.location));
        out
    }
}

/// Every live task of a runtime, from [`Handle::dump`](crate::runtime::Handle::dump).
///
/// `Display` prints one line per task, oldest first:
///
/// ```text
/// id     state      age        polls      busy  name / label / spawned at
/// 12     idle       1.204s        41    2.000ms  "ticker" src/main.rs:20:5
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TaskDump {
    /// The tasks, oldest first (by id).
    pub tasks: Vec<TaskInfo>,
}

impl TaskDump {
    pub(crate) fn new(mut tasks: Vec<TaskInfo>) -> TaskDump {
        tasks.sort_by_key(|t| t.id);
        TaskDump { tasks }
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} live task{}",
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" }
        )?;
        writeln!(
            f,
            "{:<8} {:<10} {:>10} {:>10} {:>10}  name / label / spawned at",
            "id", "state", "age", "polls", "busy"
        )?;
        for task in &self.tasks {
            let busy = task
                .busy
                .map_or_else(|| "-".to_owned(), |b| format!("{b:.3?}"));
            write!(
                f,
                "{:<8} {:<10} {:>10} {:>10} {:>10} ",
                task.id.to_string(),
                task.state.as_str(),
                format!("{:.3?}", task.age),
                task.polls,
                busy
            )?;
            if let Some(name) = &task.name {
                write!(f, " {name:?}")?;
            }
            if let Some(label) = task.label {
                write!(f, " [{label}]")?;
            }
            if task.local {
                write!(f, " (local)")?;
            }
            writeln!(f, " {}", task.location)?;
        }
        Ok(())
    }
}
