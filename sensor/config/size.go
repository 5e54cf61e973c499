package config

import (
	"errors"
	"strconv"
	"strings"
)

// Size is a byte count. In YAML it is a plain integer (bytes) or a number
// with a unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB
// (powers of 1000). "64MiB" is 67108864.
type Size int64

// Binary and decimal size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

var errSize = errors.New("config: not a size")

var sizeUnits = []struct {
	suffix string
	mult   Size
}{
	// Longest suffixes first so that "MiB" is not read as "B".
	{"KiB", KiB}, {"MiB", MiB}, {"GiB", GiB}, {"TiB", TiB},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize parses a size such as "64MiB", "1.5GiB", "512kB" or "4096".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	mult := Size(1)
	num := s
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	if num == "" {
		return 0, errSize
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n < 0 || (n > 0 && Size(n) > (1<<62)/mult) {
			return 0, errSize
		}
		return Size(n) * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 || f != f {
		return 0, errSize
	}
	return Size(f * float64(mult)), nil
}

// String formats the size with the largest binary unit that divides it.
func (s Size) String() string {
	for _, u := range []struct {
		suffix string
		mult   Size
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if s != 0 && s%u.mult == 0 {
			return strconv.FormatInt(int64(s/u.mult), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}
