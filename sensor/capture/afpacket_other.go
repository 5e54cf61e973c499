//go:build !linux

package capture

import (
	"errors"
	"log/slog"
	"time"
)

// ErrNotSupported is returned by NewAFPacket on systems without AF_PACKET.
var ErrNotSupported = errors.New("capture: live capture needs linux")

// AFPacketConfig mirrors the Linux configuration so that callers compile
// everywhere; see afpacket_linux.go for the fields.
type AFPacketConfig struct {
	Interfaces    []string
	Workers       int
	Snaplen       int
	BlockSize     int
	NumBlocks     int
	BlockTimeout  time.Duration
	Filter        Filter
	FanoutGroup   uint16
	Promiscuous   bool
	NetNS         string
	WatchInterval time.Duration
	Logger        *slog.Logger
}

// AFPacket is unavailable off Linux.
type AFPacket struct{}

// NewAFPacket returns ErrNotSupported.
func NewAFPacket(AFPacketConfig) (*AFPacket, error) { return nil, ErrNotSupported }
