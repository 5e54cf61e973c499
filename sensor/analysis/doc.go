// Package analysis joins the parsing core to the analyses that read its
// output: the API inventory, the third-party map and the sensitive-data
// map. An Analyzer receives exchanges, flows and DNS answers (it is the
// engine's Emitter) and builds the Report that `apitap read` prints.
//
// An Analyzer serialises its own calls, so several engine workers may share
// one. It never keeps a raw credential, query value or body byte: each
// analysis reduces what it needs before storing it.
package analysis
