package telephony

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline12345/hotline/core/registry"
)

// TrunkStatus is a trunk as an administrator watches it.
type TrunkStatus struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Registered is set while the carrier accepts this node's
	// registration; RegisterError says why it does not.
	Registers     bool       `json:"registers"`
	Registered    bool       `json:"registered"`
	RegisteredAt  *time.Time `json:"registeredAt"`
	RegisterError string     `json:"registerError"`
	MaxCalls      int        `json:"maxCalls"`
	LiveCalls     int        `json:"liveCalls"`
}

// trunkRegistrations is what this node knows of its registrations.
type trunkRegistrations struct {
	mu    sync.Mutex
	state map[string]TrunkStatus
}

func (r *trunkRegistrations) set(name string, f func(*TrunkStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		r.state = map[string]TrunkStatus{}
	}
	st := r.state[name]
	f(&st)
	r.state[name] = st
}

func (r *trunkRegistrations) get(name string) TrunkStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state[name]
}

// Trunks reports every trunk with its registration on this node and its
// live calls on all nodes.
func (s *Server) Trunks(ctx context.Context) ([]TrunkStatus, error) {
	live := map[string]int{}
	rows, err := s.Pool.Query(ctx, `SELECT trunk, count(*) FROM calls WHERE ended_at IS NULL AND trunk IS NOT NULL GROUP BY trunk`)
	if err != nil {
		return nil, fmt.Errorf("counting trunks' calls: %w", err)
	}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return nil, err
		}
		live[name] = n
	}
	rows.Close()
	var out []TrunkStatus
	for _, d := range s.Config.Current().All(KindTrunk) {
		t := d.Model.(*Trunk)
		st := s.registrations.get(t.Name)
		st.Name, st.Label, st.Registers, st.MaxCalls, st.LiveCalls = t.Name, t.Label, t.Register != nil, t.MaxCalls, live[t.Name]
		out = append(out, st)
	}
	return out, rows.Err()
}

// trunkLoop is this node's registration with one trunk: the loop of
// keepRegistered for the trunk's document as it read when the loop began.
type trunkLoop struct {
	digest string
	cancel context.CancelFunc
	done   chan struct{}
}

// registerTrunks makes this node's registrations match set: it keeps
// registered with every trunk that asks for it, and a trunk whose document
// changed (another carrier, other credentials), that stopped asking or
// went away is unregistered first, then registered again as it now reads.
// It runs at Start and after every configuration change; registrations
// live until Stop, not until ctx ends.
func (s *Server) registerTrunks(ctx context.Context, set *registry.Set) {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	if s.loopsClosed {
		return
	}
	want := map[string]*registry.Document{}
	for _, d := range set.All(KindTrunk) {
		if d.Model.(*Trunk).Register != nil {
			want[d.Name] = d
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.loops)) {
		l := s.loops[name]
		if d, ok := want[name]; ok && d.Digest == l.digest {
			continue
		}
		s.Log.InfoContext(ctx, "trunk changed: unregistering before registering as it now reads", "trunk", name)
		l.cancel()
		<-l.done // unregistered (or given up after its timeout)
		delete(s.loops, name)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := s.loops[name]; ok {
			continue
		}
		d := want[name]
		lctx, cancel := context.WithCancel(s.ctx)
		l := &trunkLoop{digest: d.Digest, cancel: cancel, done: make(chan struct{})}
		s.loops[name] = l
		t := d.Model.(*Trunk)
		s.registering.Add(1)
		goSafe(s.Log, "registering with a trunk", func() {
			defer s.registering.Done()
			defer close(l.done)
			s.keepRegistered(lctx, t)
		})
	}
}

// closeTrunks stops registerTrunks from starting loops, once the server
// stops, and waits for those running to unregister.
func (s *Server) closeTrunks() {
	s.loopsMu.Lock()
	s.loopsClosed = true
	s.loopsMu.Unlock()
	s.registering.Wait()
}

// ConfigChanged follows a change of the running configuration: trunks
// that changed register again (see registerTrunks).
func (s *Server) ConfigChanged(ctx context.Context, set *registry.Set) {
	if !s.ready.Load() {
		return
	}
	s.registerTrunks(ctx, set)
}

// keepRegistered registers with t's proxy, refreshes the registration
// before it expires, retries after failures, and unregisters at the end.
// The registration is our own rather than diago's, which dereferences a
// nil response when the carrier does not answer.
func (s *Server) keepRegistered(ctx context.Context, t *Trunk) {
	log := s.Log.With("trunk", t.Name)
	client := s.client
	cr := t.Register
	domain := cmp.Or(cr.Domain, t.host)
	host, portText, _ := net.SplitHostPort(s.Cfg.Addr)
	port, _ := strconv.Atoi(portText)
	aor := sip.Uri{Scheme: "sip", User: cr.Username, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	req.SetDestination(net.JoinHostPort(t.host, strconv.Itoa(t.port)))
	if t.Transport == "tcp" {
		req.SetTransport("TCP")
	}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: cr.Username, Host: host, Port: port}})
	callID := sip.CallIDHeader(sip.GenerateTagN(24))
	req.AppendHeader(&callID)
	seq := uint32(0)
	send := func(ctx context.Context, expires time.Duration) (time.Duration, error) {
		seq++
		r := req.Clone()
		r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REGISTER})
		exp := sip.ExpiresHeader(uint32(expires.Seconds()))
		r.AppendHeader(&exp)
		res, err := client.Do(ctx, r)
		if err != nil {
			return 0, err
		}
		if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
			seq++ // DoDigestAuth sends the request again with the next CSeq
			if res, err = client.DoDigestAuth(ctx, r, res, sipgo.DigestAuth{Username: cr.Username, Password: cr.Password()}); err != nil {
				return 0, err
			}
		}
		if res.StatusCode != sip.StatusOK {
			return 0, fmt.Errorf("the carrier answered %d %s", res.StatusCode, res.Reason)
		}
		granted := expires
		if h := res.GetHeader("Expires"); h != nil {
			if n, err := strconv.Atoi(h.Value()); err == nil && n > 0 {
				granted = time.Duration(n) * time.Second
			}
		}
		return granted, nil
	}
	for {
		granted, err := send(ctx, cr.Expires)
		wait := 30 * time.Second
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn("registering with the trunk failed; retrying", "err", err, "in", wait)
			s.registrations.set(t.Name, func(st *TrunkStatus) { st.Registered, st.RegisterError = false, err.Error() })
		} else {
			now := time.Now()
			s.registrations.set(t.Name, func(st *TrunkStatus) { st.Registered, st.RegisteredAt, st.RegisterError = true, &now, "" })
			// Refresh well before the registration lapses.
			wait = max(granted*4/5, 10*time.Second)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			continue
		}
		break
	}
	if st := s.registrations.get(t.Name); st.Registered {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if _, err := send(uctx, 0); err != nil {
			log.Warn("unregistering from the trunk", "err", err)
		}
		cancel()
	}
	s.registrations.set(t.Name, func(st *TrunkStatus) { st.Registered = false })
}
