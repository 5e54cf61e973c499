package ocsf

// Lifecycle decides the activity of each emission of a finding or inventory
// row: Create the first time a uid is emitted, Update afterwards, Close once
// when it is resolved. It remembers at most Max uids; when full it forgets
// everything and starts over, so a very old uid may be re-sent as Create,
// which consumers keyed by uid treat as an update anyway.
//
// A Lifecycle is not safe for concurrent use.
type Lifecycle struct {
	max  int
	seen map[string]struct{}
}

// NewLifecycle returns a tracker for up to max uids (default 1<<20).
func NewLifecycle(max int) *Lifecycle {
	if max <= 0 {
		max = 1 << 20
	}
	return &Lifecycle{max: max, seen: make(map[string]struct{})}
}

// Next returns the activity for emitting uid now.
func (l *Lifecycle) Next(uid string) Activity {
	if _, ok := l.seen[uid]; ok {
		return ActivityUpdate
	}
	if len(l.seen) >= l.max {
		clear(l.seen)
	}
	l.seen[uid] = struct{}{}
	return ActivityCreate
}

// Close returns ActivityClose and forgets uid.
func (l *Lifecycle) Close(uid string) Activity {
	delete(l.seen, uid)
	return ActivityClose
}
