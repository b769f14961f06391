package ticketsearch

import "github.com/hotline12345/hotline/core/ticket"

// MatchWindows lets tests shrink the search windows so that small corpora
// cross them.
var MatchWindows = &matchWindows

// SmallScope lets tests send small scopes down the large-scope path.
var SmallScope = &smallScope

// Small buckets in this package's tests, so that corpora of a few
// thousand tickets span many and searches cross windows.
func init() { ticket.BucketSize = 64 }
