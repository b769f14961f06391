package telephony

import (
	"log/slog"
	"runtime/debug"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// recovered, deferred at the top of a goroutine or handler, turns a panic
// into an error in the log: one bad call or message must not take the
// whole platform (HTTP, GraphQL, every other call) down with it.
func recovered(log *slog.Logger, what string) {
	if r := recover(); r != nil {
		logPanic(log, what, r)
	}
}

func logPanic(log *slog.Logger, what string, r any) {
	if log == nil {
		log = slog.Default()
	}
	panicsTotal.Inc()
	log.Error("recovered from a panic", "in", what, "panic", r, "stack", string(debug.Stack()))
}

// goSafe runs f in a goroutine that survives f panicking (f's own
// deferred calls still run first).
func goSafe(log *slog.Logger, what string, f func()) {
	go func() {
		defer recovered(log, what)
		f()
	}()
}

// safeHandler wraps a SIP request handler: a panic is logged and the
// request answered 500, and the SIP stack's goroutine lives on.
func safeHandler(log *slog.Logger, next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			logPanic(log, "handling SIP "+string(req.Method), r)
			if tx == nil || req.IsAck() {
				return
			}
			defer recovered(log, "answering 500 after a panic")
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
		}()
		next(req, tx)
	}
}
