// Package dnsparse decodes DNS messages (RFC 1035) as they cross the wire:
// classic DNS over UDP and TCP, and mDNS (RFC 6762) and LLMNR (RFC 4795),
// which share the format. The sensor keeps what links names to addresses:
// the header, the questions, and the A, AAAA and CNAME answers; every other
// record is stepped over by its length.
//
// Parse fills a caller-owned Message whose slices are reused, so decoding
// does not allocate in steady state. Names come out lower-cased, without the
// trailing dot. Compression pointers must point backwards, names must fit in
// 255 bytes and labels in 63, so no input can loop or run away. The parser
// never panics. Keeping answers (a cache) is another package's job.
package dnsparse
