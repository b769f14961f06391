package app

// The packages that register configuration kinds (registry.Register in
// their init). Importing them here is what makes a kind known to the server
// and to `hotline lint`; a new kind is one more line.
import (
	_ "github.com/hotline12345/hotline/core/acd"       // queue
	_ "github.com/hotline12345/hotline/core/calendar"  // calendar
	_ "github.com/hotline12345/hotline/core/dispatch"  // responsibility-list
	_ "github.com/hotline12345/hotline/core/flow"      // flow
	_ "github.com/hotline12345/hotline/core/flowtest"  // flow-test
	_ "github.com/hotline12345/hotline/core/form"      // form, dictionary
	_ "github.com/hotline12345/hotline/core/identity"  // role
	_ "github.com/hotline12345/hotline/core/ivr"       // ivr, ivr-test
	_ "github.com/hotline12345/hotline/core/rules"     // rule
	_ "github.com/hotline12345/hotline/core/script"    // script, script-test
	_ "github.com/hotline12345/hotline/core/telephony" // trunk
)
