//go:build !linux

package privilege

import (
	"errors"
	"io/fs"
)

// Drop is only implemented on Linux.
func Drop([]Cap) error { return errors.New("privilege: capabilities need linux") }

func owner(fs.FileInfo) (int, bool) { return 0, false }
