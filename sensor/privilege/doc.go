// Package privilege reduces what the running sensor may do: it keeps only the
// Linux capabilities that capture needs, drops every other one from the
// effective, permitted, inheritable, ambient and bounding sets, and sets
// no_new_privs so that nothing the process executes can regain them. It also
// refuses configuration files and state directories that users other than
// the owner could rewrite, since either would let them steer a root process.
//
// Capabilities are per thread in Linux; Drop changes every thread of the Go
// process at once through syscall.AllThreadsSyscall, which the Go runtime
// offers only when cgo is not in use. Build the daemon with CGO_ENABLED=0.
package privilege
