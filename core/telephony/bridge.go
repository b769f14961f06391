package telephony

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline12345/hotline/core/acd"
	"github.com/hotline12345/hotline/core/registry"
)

// agentLeg is a call placed to an agent's phone for a caller.
type agentLeg struct {
	d     *diago.DialogClientSession
	m     *diago.DialogMedia // the leg's audio, negotiated when it answered
	codec uint8
	// silent is set when the leg was ended because its phone stopped
	// sending audio.
	silent atomic.Bool
	ended  sync.Once
}

// end hangs the leg up (a BYE unless the agent already sent one) and
// closes its media, which ends readers of its audio. Later calls do
// nothing.
func (l *agentLeg) end(ctx context.Context) {
	l.ended.Do(func() {
		_ = l.d.Hangup(ctx)
		_ = l.m.Close()
		_ = l.d.Close()
	})
}

// ring places a call to the agent's registered phone, showing the number
// shown (the citizen's), and waits for it to be answered; it returns
// acd.ErrNoAnswer when ctx ends first (the offer rang out or was
// withdrawn), and an error when the agent has no registered phone.
func (s *Server) ring(ctx context.Context, shown, callID string, a acd.Agent) (*agentLeg, error) {
	contact, ok, err := s.registrar.contact(ctx, a.Extension)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("extension %s has no registered phone", a.Extension)
	}
	var uri sip.Uri
	if err := sip.ParseUri(contact, &uri); err != nil {
		return nil, fmt.Errorf("extension %s: contact %q: %w", a.Extension, contact, err)
	}
	// The agent's phone shows the citizen's number.
	headers := []sip.Header{
		sip.NewHeader("P-Asserted-Identity", fmt.Sprintf("<sip:%s@%s>", shown, uri.Host)),
		sip.NewHeader("X-Hotline-Call", callID),
	}
	d, m, err := s.dg.Invite(ctx, uri, diago.InviteOptions{Headers: headers})
	if err != nil {
		if ctx.Err() != nil {
			return nil, acd.ErrNoAnswer
		}
		return nil, err
	}
	return &agentLeg{d: d, m: m, codec: legCodec(m)}, nil
}

// bridged is a call joined to an agent, which a supervisor may join
// (listen, whisper, barge) or end (force release).
type bridged struct {
	c                   *sipCall
	leg                 *agentLeg
	rec                 *callRecord
	agent               acd.Agent
	callerOut, agentOut io.Writer
	ctx                 context.Context // ends with the bridge
	release             chan struct{}
	releaseOnce         sync.Once
	releasedBy          atomic.Pointer[string]

	mu     sync.Mutex
	closed bool         // the bridge is ending: no supervisor may join
	sup    *supervision // nil, or the supervisor joining or on the call
	// sups is the supervisors' goroutines, waited for before the bridge
	// ends so no mix is written after it.
	sups sync.WaitGroup
}

// lockedWriter serialises writes to a leg's audio.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// bridge joins the caller and the agent until either hangs up or a
// supervisor releases the call. Media is copied by us, not by diago's
// bridge, so the caller's key reader keeps running and legs with
// different G.711 laws are transcoded. recorder, when not nil, records
// both sides.
func (s *Server) bridge(ctx context.Context, c *sipCall, leg *agentLeg, agent acd.Agent, rec *callRecord, recorder *stereoRecorder) (*bridged, error) {
	agentW, err := leg.m.AudioWriter()
	if err != nil {
		leg.end(context.WithoutCancel(ctx))
		return nil, err
	}
	agentIn, err := leg.m.AudioReader()
	if err != nil {
		leg.end(context.WithoutCancel(ctx))
		return nil, err
	}
	callerW, err := c.m.AudioWriter()
	if err != nil {
		leg.end(context.WithoutCancel(ctx))
		return nil, err
	}
	// diago's RTP writers are not safe for concurrent use: the copy of
	// the other leg and a supervisor's mixer both write while one takes
	// over from the other.
	callerOut, agentOut := &lockedWriter{w: callerW}, &lockedWriter{w: agentW}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := &bridged{c: c, leg: leg, rec: rec, agent: agent, callerOut: callerOut, agentOut: agentOut, ctx: ctx, release: make(chan struct{})}
	s.bridges.Store(c.id, b)
	defer s.bridges.Delete(c.id)
	c.forward.Store(&forwarder{w: agentOut, from: c.audioPT, to: leg.codec})
	defer c.forward.Store(nil)
	if recorder != nil {
		c.stereo.Store(recorder)
		defer c.stereo.Store(nil)
	}

	done := make(chan struct{})
	var heard atomic.Int64 // when the agent's phone last sent a packet
	heard.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Add(1)
	goSafe(c.log, "bridging: the agent's audio", func() { // agent → caller
		defer wg.Done()
		defer close(done)
		f := &forwarder{w: callerOut, from: leg.codec, to: c.audioPT}
		buf := make([]byte, media.RTPBufSize)
		for {
			n, err := agentIn.Read(buf)
			if err != nil {
				return
			}
			heard.Store(time.Now().UnixNano())
			if leg.m.RTPPacketReader.PacketHeader.PayloadType != leg.codec {
				continue // the agent's keys are not the caller's
			}
			if recorder != nil {
				recorder.write(sideAgent, leg.codec, buf[:n])
			}
			if m := c.conf.Load(); m != nil {
				m.push(sideAgent, leg.codec, buf[:n])
				continue
			}
			f.write(buf[:n])
		}
	})
	// A phone that vanished (unplugged, out of coverage) sends no BYE and
	// no audio: after mediaTimeout of silence the leg is ended.
	mediaTimeout := s.Cfg.MediaTimeout
	watch := time.NewTicker(min(mediaTimeout/4, 5*time.Second))
	defer watch.Stop()
wait:
	for {
		select {
		case <-done: // the agent hung up
			break wait
		case <-c.hungUp:
			break wait
		case <-ctx.Done():
			break wait
		case <-b.release:
			break wait
		case <-watch.C:
			if time.Since(time.Unix(0, heard.Load())) > mediaTimeout {
				leg.silent.Store(true)
				c.log.Warn("the agent's phone sent no audio: ending the call", "silent", mediaTimeout)
				break wait
			}
		}
	}
	cancel() // ends a supervisor's leg
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.sups.Wait()
	leg.end(context.WithoutCancel(ctx))
	wg.Wait()
	return b, nil
}

// maxSpoken is the largest number the default prompts say (num_0 …
// num_30); more is said as "more than" it.
const maxSpoken = 30

// number is the prompts that say n.
func number(n int) []string {
	if n > maxSpoken {
		return []string{"more_than", "num_" + strconv.Itoa(maxSpoken)}
	}
	return []string{"num_" + strconv.Itoa(n)}
}

// placePrompts says how many wait ahead of the caller and about how many
// minutes the wait is, as the queue's wait settings ask.
func placePrompts(w *acd.Wait, pos int, estimate time.Duration) []string {
	var out []string
	if w.Position && pos > 1 {
		out = append(out, "position_before")
		out = append(out, number(pos-1)...)
		out = append(out, "position_after")
	}
	if w.Estimate && estimate > 0 {
		minutes := int((estimate + time.Minute - 1) / time.Minute)
		out = append(out, "estimate_before")
		out = append(out, number(minutes)...)
		out = append(out, "estimate_after")
	}
	return out
}

// forwarder writes G.711 audio of one law as another.
type forwarder struct {
	mu       sync.Mutex
	w        io.Writer
	from, to uint8
	pcm, out []byte
}

func (f *forwarder) write(payload []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.from == f.to {
		_, _ = f.w.Write(payload)
		return
	}
	if cap(f.out) < len(payload) {
		f.out = make([]byte, len(payload))
	}
	pcm, err := decodeG711(&f.pcm, f.from, payload)
	if err != nil || pcm == nil {
		return
	}
	out := f.out[:len(payload)]
	if _, err := encodeG711(out, f.to, pcm); err == nil {
		_, _ = f.w.Write(out)
	}
}

// hold plays the queue's wait prompts to the caller every so often until
// the returned function is called, which returns once the playing
// stopped; place tells the caller's position and estimated wait, played
// hears of each announcement.
func (c *sipCall) hold(ctx context.Context, lang string, set *registry.Set, queue string, place func() (int, time.Duration, bool), played func(prompts []string)) (stop func()) {
	q, ok := registry.Model[*acd.Queue](set, acd.KindQueue, queue)
	if !ok || q.Wait == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	goSafe(c.log, "the queue's hold announcements", func() {
		defer close(done)
		for {
			start := time.Now()
			played(q.Wait.Prompt)
			if err := c.play(ctx, lang, q.Wait.Prompt, ctx.Done()); err != nil || ctx.Err() != nil {
				return
			}
			// The place is read after the first prompt: by then the
			// task has joined the queue, and the figure is fresh.
			if pos, estimate, ok := place(); ok {
				if more := placePrompts(q.Wait, pos, estimate); len(more) > 0 {
					played(more)
					if err := c.play(ctx, lang, more, ctx.Done()); err != nil || ctx.Err() != nil {
						return
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(q.Wait.Every - time.Since(start)):
			}
		}
	})
	return func() {
		cancel()
		<-done
	}
}
