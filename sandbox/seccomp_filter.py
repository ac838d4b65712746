"""The seccomp filter every sandboxed process runs under, compiled to BPF for ``bwrap --seccomp``."""

from __future__ import annotations

import errno
import os
import socket
from functools import lru_cache

# Syscalls no sandboxed program needs: debugging others, namespaces and mounts, kernel keyrings and
# modules, BPF, SysV/POSIX IPC (it would outlive a run inside a warm worker), clocks, reboot, ...
DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "name_to_handle_at",
    "open_by_handle_at",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "semget",
    "semop",
    "semctl",
    "semtimedop",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    "personality",
    "vhangup",
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
)
NAMESPACE_FLAGS = (0x10000000, 0x20000000, 0x04000000, 0x08000000, 0x40000000, 0x00020000, 0x02000000)
# CLONE_NEWUSER, NEWPID, NEWUTS, NEWIPC, NEWNET, NEWNS, NEWCGROUP


# What the zygote uses to give each run new tmpfs mounts; only the inner filter of the runs denies them.
JAIL_SETUP = ("mount", "umount2")
TTY_INJECTION = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX


@lru_cache(maxsize=2)
def compile_filter(inner: bool = True) -> bytes:
    """The filter as BPF bytes: deny the list above with EPERM, allow only AF_UNIX sockets, refuse
    namespace flags in ``clone``, send ``clone3`` to ``clone`` (ENOSYS) so its flags can be checked,
    and refuse the ioctls that push input into a terminal.

    ``inner=True``: the filter every run gets. ``inner=False``: the outer filter bwrap applies to the
    whole sandbox (server, zygote and runs); it lets ``mount`` and ``umount2`` through for the
    zygote, which runs could not use anyway (they hold no capability), and which their inner
    filter refuses as well."""
    import pyseccomp as sc

    f = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED:
        if not inner and name in JAIL_SETUP:
            continue
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except Exception:  # noqa: BLE001 - a syscall this architecture lacks
            continue
    f.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    f.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socketpair", sc.Arg(0, sc.NE, socket.AF_UNIX))
    for flag in NAMESPACE_FLAGS:
        f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if inner:
        # memory a run fills with write() but never maps is seen by neither its address-space limit
        # nor the server's sampling: ENOSYS, so that libraries fall back to files on the bounded tmpfs
        f.add_rule(sc.ERRNO(errno.ENOSYS), "memfd_create")
    for request in TTY_INJECTION:
        # the kernel reads an ioctl's request as 32 bits: compare only those, so that high bits set
        # by the caller do not slip past the rule
        f.add_rule(sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    fd = os.memfd_create("seccomp")
    try:
        with os.fdopen(os.dup(fd), "wb") as handle:
            f.export_bpf(handle)
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def filter_fd(inner: bool = True) -> int:
    """A fresh file descriptor holding the BPF program, positioned at its start (caller closes it)."""
    fd = os.memfd_create("seccomp-bpf")
    os.write(fd, compile_filter(inner))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
