package outbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The channels a Feed listens on. hotline_outbox is NOTIFYed by a trigger
// on every insert into the outbox; the other two by the handlers, in the
// delivering transaction, so every node hears of a delivery once it has
// committed, whichever node delivered it.
const (
	channelOutbox  = "hotline_outbox"
	channelNotice  = "hotline_notice"         // payload: the outbox row's id
	channelChanged = "hotline_ticket_changed" // payload: the ticket.changed payload
)

// Change is a ticket.changed event: an action moved a ticket.
type Change struct {
	Ticket  int64  `json:"ticket"`
	Number  string `json:"number"`
	Action  string `json:"action"`
	From    string `json:"from"`
	To      string `json:"to"`
	Version int    `json:"version"`
}

// subBuffer is how many events a slow subscriber may fall behind before
// further ones are dropped for it (a client re-reads notices and the
// ticket when it reconnects).
const subBuffer = 64

// Feed is a node's one LISTEN connection: it wakes the dispatcher when rows
// are written and streams delivered notices and ticket changes to this
// node's subscribers. Notifications sent while the connection is down are
// lost; it reconnects and the dispatcher's poll covers the outbox.
type Feed struct {
	Pool *pgxpool.Pool
	Log  *slog.Logger

	once      sync.Once
	wake      chan struct{}
	listening chan struct{}
	mu        sync.Mutex
	notices   map[int64]map[chan Notice]struct{} // by user
	changes   map[int64]map[chan Change]struct{} // by ticket
}

func (f *Feed) init() {
	f.once.Do(func() {
		f.wake = make(chan struct{}, 1)
		f.listening = make(chan struct{})
		f.notices = map[int64]map[chan Notice]struct{}{}
		f.changes = map[int64]map[chan Change]struct{}{}
		if f.Log == nil {
			f.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Wake is signalled when rows are added to the outbox (Dispatcher.Wake).
func (f *Feed) Wake() <-chan struct{} {
	f.init()
	return f.wake
}

// Listening is closed once the feed first listens.
func (f *Feed) Listening() <-chan struct{} {
	f.init()
	return f.listening
}

func (f *Feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run listens until ctx ends, reconnecting after a lost connection.
func (f *Feed) Run(ctx context.Context) {
	f.init()
	first := true
	for wait := time.Second; ctx.Err() == nil; {
		err := f.listen(ctx, &first)
		if ctx.Err() != nil {
			return
		}
		f.Log.Warn("outbox feed: listening failed; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (f *Feed) listen(ctx context.Context, first *bool) error {
	conn, err := pgx.ConnectConfig(ctx, f.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	for _, ch := range []string{channelOutbox, channelNotice, channelChanged} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	if *first {
		*first = false
		close(f.listening)
	}
	f.poke() // rows may have come while no one listened
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case channelOutbox:
			f.poke()
		case channelNotice:
			id, err := strconv.ParseInt(n.Payload, 10, 64)
			if err == nil {
				f.noticeDelivered(ctx, id)
			}
		case channelChanged:
			var c Change
			if err := json.Unmarshal([]byte(n.Payload), &c); err == nil {
				f.ticketChanged(c)
			}
		}
	}
}

// noticeDelivered reads the notices of outbox row id that users subscribed
// on this node received, and sends each to them.
func (f *Feed) noticeDelivered(ctx context.Context, id int64) {
	f.mu.Lock()
	users := make([]int64, 0, len(f.notices))
	for u := range f.notices {
		users = append(users, u)
	}
	f.mu.Unlock()
	if len(users) == 0 {
		return
	}
	list, err := queryNotices(ctx, f.Pool, `WHERE outbox_id = $1 AND user_id = ANY($2)`, id, users)
	if err != nil {
		f.Log.Warn("outbox feed: reading delivered notices", "outbox", id, "err", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range list {
		for ch := range f.notices[n.UserID] {
			select {
			case ch <- n:
			default:
				f.Log.Warn("outbox feed: a notice subscriber fell behind; notice not pushed", "user", n.UserID, "notice", n.ID)
			}
		}
	}
}

func (f *Feed) ticketChanged(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.changes[c.Ticket] {
		select {
		case ch <- c:
		default:
			f.Log.Warn("outbox feed: a ticket subscriber fell behind; change not pushed", "ticket", c.Ticket, "version", c.Version)
		}
	}
}

// Notices streams the notices delivered to user from now until ctx ends,
// when the channel is closed.
func (f *Feed) Notices(ctx context.Context, user int64) <-chan Notice {
	f.init()
	ch := make(chan Notice, subBuffer)
	f.mu.Lock()
	if f.notices[user] == nil {
		f.notices[user] = map[chan Notice]struct{}{}
	}
	f.notices[user][ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.notices[user], ch)
		if len(f.notices[user]) == 0 {
			delete(f.notices, user)
		}
		close(ch)
	}()
	return ch
}

// Changes streams the changes of ticket from now until ctx ends, when the
// channel is closed.
func (f *Feed) Changes(ctx context.Context, ticket int64) <-chan Change {
	f.init()
	ch := make(chan Change, subBuffer)
	f.mu.Lock()
	if f.changes[ticket] == nil {
		f.changes[ticket] = map[chan Change]struct{}{}
	}
	f.changes[ticket][ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.changes[ticket], ch)
		if len(f.changes[ticket]) == 0 {
			delete(f.changes, ticket)
		}
		close(ch)
	}()
	return ch
}

// TicketChanges is the handler of topic ticket.changed: it tells every
// node's subscribers, once the delivery commits.
func TicketChanges() Handler {
	return HandlerFunc(func(ctx context.Context, tx pgx.Tx, m Message) error {
		if len(m.Payload) > 7000 { // NOTIFY payloads stop at 8000 bytes
			return Permanent(errPayloadTooLarge)
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channelChanged, string(m.Payload))
		return err
	})
}
