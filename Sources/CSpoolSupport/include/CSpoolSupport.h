#ifndef CSPOOLSUPPORT_H
#define CSPOOLSUPPORT_H

/// rename(2) that fails with EEXIST instead of replacing an existing target
/// (renameat2 with RENAME_NOREPLACE, Linux >= 3.15). Returns 0 or -1 with errno set;
/// errno EINVAL or ENOSYS when the file system or kernel does not support it.
int signd_rename_noreplace(const char *from, const char *to);

#endif
