//! The enclave's confinement: not dumpable, no core files, the private key in locked memory,
//! and a seccomp syscall allowlist on every thread. Then a self-check from inside proves each
//! one (a TCP socket and a file open must fail), and the enclave refuses to serve otherwise.
//!
//! The only `unsafe` of the enclave lives here: plain libc calls with checked results.
#![allow(unsafe_code)]

use std::collections::BTreeMap;

use fieldseal_core::wire::enclave::SandboxReport;
use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule};

/// Why confinement could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A process setting was refused.
    #[error("could not {what}: {source}")]
    Os { what: &'static str, source: std::io::Error },
    /// The seccomp filter could not be built or installed.
    #[error("could not install the seccomp filter: {0}")]
    Seccomp(String),
}

fn check(rc: libc::c_int, what: &'static str) -> Result<(), SandboxError> {
    if rc == 0 { Ok(()) } else { Err(SandboxError::Os { what, source: std::io::Error::last_os_error() }) }
}

/// Makes the process non-dumpable (no ptrace attach by other users, no core file), sets the
/// core file limit to zero, and optionally asks for SIGTERM when the parent dies.
pub fn harden_process(exit_with_parent: bool) -> Result<(), SandboxError> {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }, "make the process non-dumpable")?;
    let zero = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `zero` is a valid rlimit that outlives the call.
    check(unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) }, "disable core files")?;
    if exit_with_parent {
        // SAFETY: prctl with integer arguments only.
        check(
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) },
            "ask to stop with the parent",
        )?;
        // The parent may have died before the request took effect.
        // SAFETY: getppid has no arguments and cannot fail.
        if unsafe { libc::getppid() } == 1 {
            return Err(SandboxError::Os {
                what: "start: the parent process is already gone",
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
    }
    Ok(())
}

/// Locks the memory pages holding `value` so they are never swapped out. The lock stays for
/// the life of the process (the value must not move: keep it boxed).
pub fn lock_in_memory<T>(value: &T) -> bool {
    let ptr = (value as *const T).cast::<libc::c_void>();
    // SAFETY: the range is a live object of size_of::<T>() bytes; mlock only pins its pages.
    unsafe { libc::mlock(ptr, std::mem::size_of::<T>()) == 0 }
}

/// The system calls a confined enclave worker makes: socket I/O on already-open sockets,
/// memory, threads waiting on each other, time, randomness, waiting for socket events (the
/// web side's event loop), and exiting.
fn allowed_syscalls() -> Vec<libc::c_long> {
    let mut list = vec![
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_recvfrom,
        libc::SYS_sendto,
        libc::SYS_recvmsg,
        libc::SYS_sendmsg,
        libc::SYS_accept4,
        libc::SYS_setsockopt,
        libc::SYS_shutdown,
        libc::SYS_close,
        libc::SYS_futex,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_madvise,
        libc::SYS_brk,
        libc::SYS_rt_sigreturn,
        libc::SYS_rt_sigprocmask,
        libc::SYS_sigaltstack,
        libc::SYS_getrandom,
        libc::SYS_clock_gettime,
        libc::SYS_clock_nanosleep,
        libc::SYS_nanosleep,
        libc::SYS_sched_yield,
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_tgkill,
        libc::SYS_exit,
        libc::SYS_exit_group,
        // The web side's event loop (its epoll instance and threads exist before the filter).
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2,
    ];
    #[cfg(target_arch = "x86_64")]
    list.extend([libc::SYS_accept, libc::SYS_poll, libc::SYS_epoll_wait]);
    list
}

/// Installs the allowlist on every thread of the process. Anything else fails with EPERM:
/// opening files, creating sockets, starting processes, ptrace, changing limits.
pub fn install_seccomp() -> Result<(), SandboxError> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|_| SandboxError::Seccomp(format!("no seccomp support for {}", std::env::consts::ARCH)))?;
    // `c_long` is `i64` here but not on every target.
    #[allow(clippy::useless_conversion)]
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        allowed_syscalls().into_iter().map(|nr| (i64::from(nr), Vec::new())).collect();
    // prctl only to read the seccomp mode and the dumpable flag (the self-check), never to set.
    let read_only_prctl = [libc::PR_GET_SECCOMP, libc::PR_GET_DUMPABLE]
        .into_iter()
        .map(|op| {
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, op as u64)
                .and_then(|c| SeccompRule::new(vec![c]))
                .map_err(|e| SandboxError::Seccomp(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_prctl, read_only_prctl);
    // New threads of this process, never new processes: `clone` only with CLONE_THREAD (the
    // runtime starts its blocking threads when first needed). Threads inherit this filter.
    let thread_only = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
        libc::CLONE_THREAD as u64,
    )
    .and_then(|c| SeccompRule::new(vec![c]))
    .map_err(|e| SandboxError::Seccomp(e.to_string()))?;
    rules.insert(libc::SYS_clone, vec![thread_only]);
    for syscall in [libc::SYS_set_robust_list, libc::SYS_rseq, libc::SYS_sched_getaffinity] {
        rules.insert(syscall, Vec::new());
    }
    let filter = SeccompFilter::new(rules, SeccompAction::Errno(libc::EPERM as u32), SeccompAction::Allow, arch)
        .map_err(|e| SandboxError::Seccomp(e.to_string()))?;
    let mut program: seccompiler::BpfProgram =
        filter.try_into().map_err(|e: seccompiler::BackendError| SandboxError::Seccomp(e.to_string()))?;
    // clone3 passes its flags in memory, where a filter cannot look: refuse it as unknown
    // (ENOSYS), so the C library falls back to `clone`, whose flags are checked above. Three
    // instructions before the compiled filter (its jumps are relative, so they still land):
    // load the syscall number, and if it is clone3 return ENOSYS.
    const LD_W_ABS: u16 = 0x20;
    const JMP_JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    let clone3 = u32::try_from(libc::SYS_clone3).map_err(|e| SandboxError::Seccomp(e.to_string()))?;
    let prefix = [
        seccompiler::sock_filter { code: LD_W_ABS, jt: 0, jf: 0, k: 0 },
        seccompiler::sock_filter { code: JMP_JEQ_K, jt: 0, jf: 1, k: clone3 },
        seccompiler::sock_filter { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | libc::ENOSYS as u32 },
    ];
    program.splice(0..0, prefix);
    seccompiler::apply_filter_all_threads(&program).map_err(|e| SandboxError::Seccomp(e.to_string()))
}

/// Whether `fork` fails. Should it succeed (no filter), the child leaves at once.
fn fork_refused() -> bool {
    // SAFETY: fork takes no arguments; the child below only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: ends the child without running anything of the parent's.
        unsafe { libc::_exit(0) }
    }
    pid < 0
}

fn core_limit_is_zero() -> bool {
    let mut limit = libc::rlimit { rlim_cur: 1, rlim_max: 1 };
    // SAFETY: `limit` is a valid, writable rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) };
    rc == 0 && limit.rlim_cur == 0 && limit.rlim_max == 0
}

/// Checks the settings that must be read before the filter is in place.
pub fn core_dumps_disabled() -> bool {
    core_limit_is_zero()
}

/// The self-check, run inside the confined process after [`install_seccomp`].
pub fn self_check(core_dumps_disabled: bool, key_memory_locked: bool) -> SandboxReport {
    // SAFETY: prctl reads with integer arguments only.
    let seccomp_mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    // Threads may be made, processes not: a filter that let a process start would fail here.
    let threads_only = std::thread::spawn(|| ()).join().is_ok() && fork_refused();
    // SAFETY: as above.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    let network_denied = std::net::TcpListener::bind(("127.0.0.1", 0)).is_err()
        && std::net::TcpStream::connect(("127.0.0.1", 9)).is_err()
        && std::net::UdpSocket::bind(("127.0.0.1", 0)).is_err();
    let filesystem_denied = std::fs::File::open("/etc/hostname").is_err()
        && std::fs::read_dir("/").is_err()
        && std::fs::File::create(std::env::temp_dir().join("fieldseal-enclave-probe")).is_err();
    SandboxReport {
        seccomp_filter: seccomp_mode == 2 && threads_only,
        network_denied,
        filesystem_denied,
        not_dumpable: dumpable == 0,
        core_dumps_disabled,
        key_memory_locked,
    }
}
