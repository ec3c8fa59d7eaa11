//go:build linux

package licentia

import (
	"io"
	"syscall"
)

// rawFile reads a file with plain system calls. os.Open registers every file with the
// runtime's poller (fcntl twice and epoll_ctl at open, epoll_ctl at close): four calls
// more than the one read of a one-line sysfs file, for files every offline check reads.
type rawFile struct{ fd int }

func openRaw(path string) (rawFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return rawFile{fd}, err
		}
	}
}

func (f rawFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f rawFile) Close() error { return syscall.Close(f.fd) }

// fileIdentity: where and what path is now (device, inode, modification time), to know a
// remembered value of it still holds; ok false when it cannot be stat()ed.
func fileIdentity(path string) (identity [4]int64, ok bool) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return identity, false
		}
		return [4]int64{int64(st.Dev), int64(st.Ino), st.Mtim.Sec, st.Mtim.Nsec}, true
	}
}
