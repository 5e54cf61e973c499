//go:build !linux

package live

import (
	"errors"
	"log/slog"

	"github.com/apitap/apitap/sensor/config"
)

// errNoLiveCapture: only Config.Sources work off Linux.
var errNoLiveCapture = errors.New("live: live capture needs linux")

// liveCapture has no kernel capture behind it off Linux.
type liveCapture struct{}

func (*liveCapture) close() error                 { return nil }
func (*liveCapture) closeSockets() error          { return nil }
func (*liveCapture) kernel() map[string]uint64    { return nil }
func (*liveCapture) ifnameFunc() func(int) string { return func(int) string { return "" } }

func attachLive(*config.Config, *slog.Logger, *slog.Logger) (*sources, error) {
	return nil, errNoLiveCapture
}
