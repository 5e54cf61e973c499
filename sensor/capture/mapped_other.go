//go:build !linux

package capture

import (
	"errors"
	"os"
)

// canMap says whether FileSource.Map can map files on this system: only
// Linux is wired up, elsewhere files are read.
const canMap = false

func mapFile(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func releasePages([]byte) {}

func unmapFile([]byte) error { return nil }
