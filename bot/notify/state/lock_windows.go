package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/windows"
)

// lockDir takes the exclusive lock of dir (LockFileEx on dir/lock,
// released when the process ends) and writes the process id in it.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the state lock: %w", err)
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, &LockedError{Dir: dir}
		}
		return nil, fmt.Errorf("locking the state directory: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// Holder reports whether a process holds dir's lock, for doctor; on
// Windows the holder's pid is not readable while it holds the lock.
func Holder(dir string) (pid int, held bool, err error) {
	f, err := lockDir(dir)
	if le, ok := errors.AsType[*LockedError](err); ok {
		return le.PID, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	f.Close()
	return 0, false, nil
}
