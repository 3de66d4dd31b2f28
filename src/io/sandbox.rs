//! Attachment decoders in a child process: the [`AttachmentReader`] the daemon, `classify` and
//! `rules test` use for PDF, DOCX, ODT and RTF.
//!
//! A decoder fed hostile bytes can overflow its stack (a PDF form that draws itself), allocate
//! gigabytes (a flate bomb) or spin. Inside the daemon none of that can be stopped: a thread
//! cannot be killed, and a stack overflow aborts the whole process (issue 9, findings 1 and 2).
//! So each such attachment is read by a child of the same program, `foi-triage decode-worker
//! --format pdf` ([`worker`]):
//!
//! - the document on stdin, its text on stdout (read up to [`MAX_ANSWER_BYTES`], no further);
//!   a refusal (corrupt, zip bomb…) is exit status [`EXIT_REFUSED`] with the reason on stdout;
//! - an empty environment, `/` as working directory, stderr discarded, its own process group;
//! - memory: the program's global allocator is [`CappedAlloc`], which counts the bytes in use;
//!   its cap is off in the daemon and set to [`Limits::memory_bytes`] (512 MiB) by the worker as
//!   it starts; an allocation past it ends the child with [`EXIT_MEMORY`];
//! - CPU: the worker arms `setitimer(ITIMER_PROF)` for [`Limits::cpu`]; past it the kernel
//!   ends the child with `SIGPROF`;
//! - wall clock: the parent kills the child's process group with `SIGKILL` after
//!   [`Limits::wall`], and always reaps it.
//!
//! A crash, a kill, a limit or an answer that is not text becomes [`SandboxError`], which the
//! reader hands to parsing as [`ExtractError::NotReadable`]: a "not readable" warning on the
//! message, never a failure of the message.
//!
//! # Why no `setrlimit`
//! The systemd unit's `SystemCallFilter=~@privileged @resources` forbids `setrlimit` (and the
//! filter's default action kills the caller), and allowing it would raise the unit's
//! `systemd-analyze security` exposure, which issue 9 forbids. Everything the worker and its
//! parent call is in `@system-service` and outside `@privileged`/`@resources`: `setitimer`
//! (`@timer`), `rt_sigaction` (`@signal`), `setpgid`, `kill`, `wait4`, `clone`/`execve`
//! (`@process`), `pipe2`, `chdir`. The unit's `MemoryMax` stays the backstop for memory the
//! allocator does not see (stacks, libraries' own `mmap`s).

use crate::core::extract::{self, AttachmentReader, DocFormat, ExtractError, InProcess};
use crate::core::text::prefix;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tracing::{debug, warn};

/// Memory cap of a decoder child (bytes of heap in use). A letter's PDF needs a few MiB to
/// decode; 512 MiB is ample for a 10 MB document and stops a bomb long before it hurts the
/// host, and daemon plus one child stay inside the unit's `MemoryMax=1G`.
pub const MEMORY_LIMIT_BYTES: usize = 512 * 1024 * 1024;

/// CPU time (user + system) a decoder child may use. A one-page letter takes a millisecond and
/// a 300-page text PDF 0.2 s (release build, measured); 3 s leaves room for a large, legitimate
/// document on a slow machine.
pub const CPU_LIMIT: Duration = Duration::from_secs(3);

/// Wall-clock time a decoder child may take, start to exit: [`CPU_LIMIT`] and 2 s more, so a
/// child that is only slow because the machine is busy is not cut short. With
/// `core::parse::MAX_DECODED_ATTACHMENTS` (4) one message costs at most 20 s, the daemon's
/// shutdown grace.
pub const WALL_LIMIT: Duration = Duration::from_secs(5);

/// Most bytes read from a child's stdout: the text a reader may send
/// ([`extract::MAX_READER_TEXT_BYTES`]). More is not an answer we asked for: the child is killed
/// and the attachment is not readable.
pub const MAX_ANSWER_BYTES: usize = extract::MAX_READER_TEXT_BYTES;

/// Longest refusal reason kept from a child (bytes); a library's error message is one line.
const MAX_REASON_BYTES: usize = 500;

/// Exit status of a worker that read the document and refused it (corrupt, encrypted, zip
/// bomb…); its reason is on stdout. 65 is `EX_DATAERR` in sysexits.h: "the input data was
/// incorrect".
pub const EXIT_REFUSED: u8 = 65;

/// Exit status of a worker whose allocation went past its memory cap.
pub const EXIT_MEMORY: u8 = 66;

/// Exit status of a worker that will not run because its memory cap would not be in force (a
/// program built without [`CappedAlloc`] as its global allocator).
pub const EXIT_NO_CAP: u8 = 67;

/// The hidden subcommand of the `foi-triage` binary that runs [`worker`].
pub const WORKER_COMMAND: &str = "decode-worker";

/// The limits a decoder child runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Heap bytes in use (see [`CappedAlloc`]).
    pub memory_bytes: usize,
    /// CPU time, user + system.
    pub cpu: Duration,
    /// Wall-clock time, enforced by the parent.
    pub wall: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_bytes: MEMORY_LIMIT_BYTES,
            cpu: CPU_LIMIT,
            wall: WALL_LIMIT,
        }
    }
}

/// Why a decoder child gave no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The child could not be started (program missing, no processes left…).
    #[error("the decoder could not be started: {reason}")]
    Spawn {
        /// The operating system's explanation.
        reason: String,
    },
    /// The decoder read the document and refused it; its reason.
    #[error("{reason}")]
    Refused {
        /// What the decoder said (at most 500 bytes).
        reason: String,
    },
    /// The child went past its memory cap.
    #[error("the decoder needed more than {limit_mib} MiB of memory and was stopped")]
    Memory {
        /// The cap, in MiB.
        limit_mib: usize,
    },
    /// The child went past its CPU time.
    #[error("the decoder used more than {limit:?} of CPU time and was stopped")]
    Cpu {
        /// The limit.
        limit: Duration,
    },
    /// The child did not finish in time and was killed.
    #[error("the decoder took longer than {limit:?} and was killed")]
    Late {
        /// The limit.
        limit: Duration,
    },
    /// The child died of a signal it did not expect (a stack overflow aborts: `SIGABRT`).
    #[error("the decoder crashed ({signal})")]
    Crashed {
        /// The signal, named.
        signal: String,
    },
    /// The child exited with a status the protocol does not have.
    #[error("the decoder exited with status {code}")]
    Exited {
        /// The exit status.
        code: i32,
    },
    /// The child's answer was not text we can use.
    #[error("the decoder's answer was unusable: {why}")]
    Garbage {
        /// What was wrong with it.
        why: String,
    },
}

/// The decoder child for one program: an [`AttachmentReader`] that runs each document in a
/// fresh `decode-worker` process under [`Limits`].
#[derive(Debug, Clone)]
pub struct Sandbox {
    program: PathBuf,
    limits: Limits,
}

impl Sandbox {
    /// Decoders run by `program`, which must be the `foi-triage` binary (it has the worker
    /// subcommand and the counting allocator) named by an absolute path (the child starts in
    /// `/`), under the default [`Limits`].
    pub fn new(program: impl Into<PathBuf>) -> Sandbox {
        Sandbox {
            program: program.into(),
            limits: Limits::default(),
        }
    }

    /// Decoders run by this very program: what the daemon and the command line use.
    ///
    /// # Errors
    /// The operating system cannot say where the running program is.
    pub fn current_exe() -> std::io::Result<Sandbox> {
        std::env::current_exe().map(Sandbox::new)
    }

    /// The same sandbox under other limits (tests use small ones).
    pub fn with_limits(mut self, limits: Limits) -> Sandbox {
        self.limits = limits;
        self
    }

    /// The text of one document, read by a child process.
    ///
    /// # Errors
    /// [`SandboxError`] saying why there is no text; the child is dead and reaped whatever
    /// happened.
    pub fn decode(&self, format: DocFormat, data: &[u8]) -> Result<String, SandboxError> {
        let mut child = self
            .command(format)
            .spawn()
            .map_err(|e| SandboxError::Spawn {
                reason: e.to_string(),
            })?;
        let deadline = Instant::now() + self.limits.wall;
        match talk(&mut child, data, deadline) {
            End::Exited(status, answer) => self.exited(status, answer),
            End::Late => Err(SandboxError::Late {
                limit: self.limits.wall,
            }),
            End::OverLong => Err(SandboxError::Garbage {
                why: format!("more than {MAX_ANSWER_BYTES} bytes"),
            }),
            End::Unreadable(why) => Err(SandboxError::Garbage { why }),
            End::NoThread(reason) => Err(SandboxError::Spawn { reason }),
        }
    }

    /// `program decode-worker --format F --memory-mib M --cpu-ms C`, with nothing of ours
    /// inherited but the pipes.
    fn command(&self, format: DocFormat) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.arg(WORKER_COMMAND)
            .args(["--format", format.id()])
            .arg("--memory-mib")
            .arg(self.limits.memory_bytes.div_ceil(1024 * 1024).to_string())
            .arg("--cpu-ms")
            .arg(self.limits.cpu.as_millis().max(1).to_string())
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own group, so one `kill` reaches anything it started.
            .process_group(0);
        cmd
    }

    /// What a child that exited (or died of a signal) on its own says, by the protocol in the
    /// module docs.
    fn exited(&self, status: ExitStatus, answer: Vec<u8>) -> Result<String, SandboxError> {
        let code = status.code();
        if status.success() {
            String::from_utf8(answer).map_err(|_| SandboxError::Garbage {
                why: "not UTF-8".to_owned(),
            })
        } else if code == Some(i32::from(EXIT_REFUSED)) {
            let reason = String::from_utf8_lossy(&answer);
            Err(SandboxError::Refused {
                reason: prefix(reason.trim(), MAX_REASON_BYTES).to_owned(),
            })
        } else if code == Some(i32::from(EXIT_MEMORY)) {
            Err(SandboxError::Memory {
                limit_mib: self.limits.memory_bytes.div_ceil(1024 * 1024),
            })
        } else if status.signal() == Some(libc::SIGPROF) {
            Err(SandboxError::Cpu {
                limit: self.limits.cpu,
            })
        } else if let Some(signal) = status.signal() {
            Err(SandboxError::Crashed {
                signal: signal_name(signal),
            })
        } else {
            Err(SandboxError::Exited {
                code: code.unwrap_or(-1),
            })
        }
    }
}

impl AttachmentReader for Sandbox {
    fn read(&self, format: DocFormat, data: &[u8]) -> Result<String, ExtractError> {
        self.decode(format, data).map_err(|e| {
            match &e {
                SandboxError::Refused { .. } => debug!(%format, reason = %e, "document refused"),
                _ => warn!(%format, reason = %e, "attachment decoder failed"),
            }
            ExtractError::NotReadable {
                format,
                reason: e.to_string(),
            }
        })
    }
}

/// How a child's run ended, before its meaning is worked out.
enum End {
    /// It exited (or died of a signal) on its own, with this answer.
    Exited(ExitStatus, Vec<u8>),
    /// Killed at the wall-clock limit.
    Late,
    /// Killed for answering more than [`MAX_ANSWER_BYTES`].
    OverLong,
    /// Killed because its stdout could not be read.
    Unreadable(String),
    /// Killed because the threads that feed and read it could not be started.
    NoThread(String),
}

/// Feeds the document to the child and reads its answer, each on its own thread, until the
/// answer is in and the child has exited, or `deadline` passes. Whatever the way out, the child
/// is dead and reaped before the threads are joined, so their pipes are closed and they return.
fn talk(child: &mut Child, data: &[u8], deadline: Instant) -> End {
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        stop(child);
        return End::NoThread("no pipes to the child".to_owned());
    };
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("foi-decoder-feed".to_owned())
            .spawn_scoped(s, move || feed(stdin, data))
            .and_then(|_| {
                std::thread::Builder::new()
                    .name("foi-decoder-read".to_owned())
                    .spawn_scoped(s, move || tx.send(read_bounded(stdout)))
            });
        if let Err(e) = started {
            stop(child);
            return End::NoThread(e.to_string());
        }
        let answer = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let end = match answer {
            Ok(Ok(bytes)) if bytes.len() <= MAX_ANSWER_BYTES => {
                return match wait_until(child, deadline) {
                    Some(status) => End::Exited(status, bytes),
                    None => End::Late,
                };
            }
            Ok(Ok(_)) => End::OverLong,
            Ok(Err(e)) => End::Unreadable(e.to_string()),
            Err(_) => End::Late,
        };
        stop(child);
        end
    })
}

/// Writes the document to the child and closes its stdin. A child that exits or stops
/// reading makes the write fail (`EPIPE`; Rust programs ignore `SIGPIPE`); its exit status then
/// says why, so the error is dropped here.
fn feed(mut stdin: std::process::ChildStdin, data: &[u8]) {
    let _ = stdin.write_all(data);
}

/// The child's stdout up to one byte past [`MAX_ANSWER_BYTES`] (so an over-long answer shows).
fn read_bounded(stdout: std::process::ChildStdout) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    stdout
        .take(MAX_ANSWER_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Waits for the child to exit until `deadline`; `None` when it was late and had to be killed.
/// The answer has arrived by now, so the child is exiting: poll often at first.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_micros(100);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            // Late, or it cannot be waited for: stop it either way.
            _ => {
                stop(child);
                return None;
            }
        }
    }
}

/// Kills the child's process group with `SIGKILL` and reaps the child. Done before the child is
/// reaped, so its id (and group id) cannot have been reused.
fn stop(child: &mut Child) {
    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: `killpg` only sends a signal; the group is the child's own (process_group(0)).
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A signal number with its name, for an officer reading the warning.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGABRT => "SIGABRT, e.g. a stack overflow",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGKILL => "SIGKILL, e.g. the out-of-memory killer",
        libc::SIGSYS => "SIGSYS, a system call the service's filter forbids",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    format!("signal {signal}: {name}")
}

/// The limits the worker applies to itself, as its parent passes them on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Heap cap, MiB.
    pub memory_mib: usize,
    /// CPU time, milliseconds.
    pub cpu_ms: u64,
}

/// The child's side, run by `foi-triage decode-worker`: applies its limits, reads one document
/// from stdin, writes its text to stdout. Returns the exit status (see [`EXIT_REFUSED`] and
/// friends); never panics on input.
pub fn worker(format: DocFormat, limits: WorkerLimits) -> u8 {
    if !CappedAlloc::in_force() {
        eprintln!("decode-worker: this program does not count its memory; refusing to decode");
        return EXIT_NO_CAP;
    }
    CappedAlloc::set_cap(limits.memory_mib.saturating_mul(1024 * 1024));
    if let Err(e) = limit_cpu(Duration::from_millis(limits.cpu_ms)) {
        eprintln!("decode-worker: cannot set the CPU limit: {e}");
        return refuse(&format!("the decoder could not limit its CPU time: {e}"));
    }
    let mut data = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(extract::MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut data);
    if let Err(e) = read {
        return refuse(&format!("the document could not be read: {e}"));
    }
    if data.len() > extract::MAX_INPUT_BYTES {
        return refuse(&format!(
            "{format} document over the {}-byte limit",
            extract::MAX_INPUT_BYTES
        ));
    }
    match InProcess.read(format, &data) {
        Ok(text) => answer(0, &text),
        Err(e) => refuse(&e.to_string()),
    }
}

/// Writes the answer and returns `status`; an answer that cannot be written is a refusal the
/// parent will not read anyway.
fn answer(status: u8, text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => status,
        Err(_) => EXIT_REFUSED,
    }
}

/// Reports a refusal: the reason on stdout, exit status [`EXIT_REFUSED`].
fn refuse(reason: &str) -> u8 {
    answer(EXIT_REFUSED, reason);
    EXIT_REFUSED
}

/// Arms `ITIMER_PROF` (CPU time, user + system) so the kernel sends `SIGPROF` after `cpu`, and
/// makes sure `SIGPROF` ends the process (its default action) even if the parent had it
/// ignored. `ITIMER_PROF` rather than `ITIMER_VIRTUAL`: a decoder stuck in system calls
/// (mapping and unmapping memory) spends system time, which the virtual timer does not count.
fn limit_cpu(cpu: Duration) -> std::io::Result<()> {
    let cpu = cpu.max(Duration::from_micros(1));
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: libc::time_t::try_from(cpu.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(cpu.subsec_micros()),
        },
    };
    // SAFETY: both calls take plain values or a valid pointer to a local; no memory is shared.
    let failed = unsafe {
        libc::signal(libc::SIGPROF, libc::SIG_DFL) == libc::SIG_ERR
            || libc::setitimer(libc::ITIMER_PROF, &timer, std::ptr::null_mut()) != 0
    };
    if failed {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Heap bytes in use, counted by [`CappedAlloc`].
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// Most heap bytes [`CappedAlloc`] allows; `usize::MAX` (off) except in a decoder child.
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The `foi-triage` binary's global allocator (`main.rs`): the system allocator, counting the
/// heap bytes in use so that a decoder child can cap them without `setrlimit` (see the module
/// docs). The cap is off in the daemon, which pays two relaxed atomic operations per
/// allocation; [`worker`] sets it as it starts. An allocation past the cap ends the process at
/// once with [`EXIT_MEMORY`]: no unwinding, no allocation, and a status the parent can name.
pub struct CappedAlloc;

impl CappedAlloc {
    /// Sets the cap (bytes of heap in use). Only the decoder child calls this.
    pub fn set_cap(bytes: usize) {
        CAP.store(bytes, Ordering::SeqCst);
    }

    /// Heap bytes in use now, as counted (0 in a program that does not use this allocator).
    pub fn in_use() -> usize {
        IN_USE.load(Ordering::Relaxed)
    }

    /// Whether this program's allocator is [`CappedAlloc`]: an allocation shows in the count.
    /// Exact in the worker, which has one thread.
    fn in_force() -> bool {
        let before = CappedAlloc::in_use();
        let probe: Vec<u8> = std::hint::black_box(Vec::with_capacity(4096));
        let during = CappedAlloc::in_use();
        drop(probe);
        during >= before + 4096
    }

    /// Counts `bytes` more in use, ending the process when that passes the cap.
    fn take(bytes: usize) {
        let before = IN_USE.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > CAP.load(Ordering::Relaxed) {
            over_cap();
        }
    }

    /// Counts `bytes` fewer in use.
    fn give(bytes: usize) {
        IN_USE.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The end of a decoder child past its memory cap: one line on stderr, exit [`EXIT_MEMORY`].
/// Async-signal-safe and allocation-free, as it runs inside the allocator.
fn over_cap() -> ! {
    const LINE: &[u8] = b"decode-worker: memory cap reached\n";
    // SAFETY: `write` on stderr from a static buffer and `_exit` touch no Rust state.
    unsafe {
        libc::write(2, LINE.as_ptr().cast(), LINE.len());
        libc::_exit(i32::from(EXIT_MEMORY))
    }
}

// SAFETY: every call is passed to `System` unchanged; the counting around it never touches the
// memory itself.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CappedAlloc::take(layout.size());
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            CappedAlloc::give(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        CappedAlloc::take(layout.size());
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            CappedAlloc::give(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        CappedAlloc::give(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            CappedAlloc::take(new_size - old);
        }
        // SAFETY: the caller's contract, passed on.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        match (moved.is_null(), new_size > old) {
            (true, true) => CappedAlloc::give(new_size - old),
            (false, false) => CappedAlloc::give(old - new_size),
            _ => {}
        }
        moved
    }
}

#[cfg(test)]
mod tests;
