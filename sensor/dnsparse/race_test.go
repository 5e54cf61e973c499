//go:build race

package dnsparse

const raceEnabled = true
