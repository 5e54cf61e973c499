// Package secret turns sensitive values into things that may leave the host:
// a keyed fingerprint that recognises the same credential again without
// revealing it, and a redacted preview a human can read.
//
// The fingerprint key is per installation (or shared by a fleet that wants
// to correlate one credential across hosts). It lives in a file readable by
// its owner only; LoadOrCreateKey refuses a file anyone else could read or
// write, because whoever holds the key can test guesses against published
// fingerprints.
//
// Nothing in this package logs, stores or returns a raw value.
package secret
