package telephony

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"

	"github.com/hotline12345/hotline/core/ivr"
)

// sipCall is an answered call as a menu sees it (ivr.Channel). One
// goroutine reads the call's RTP: telephone events become keys, and the
// audio is dropped unless a recording is on. Prompts are written by the
// menu's goroutine.
type sipCall struct {
	d        *diago.DialogServerSession
	m        *diago.DialogMedia // the caller's audio, negotiated on answer
	prompts  *promptCache
	fallback string // the menu's first language, for prompts not recorded in another
	log      *slog.Logger
	dtmfPT   uint8
	hasDTMF  bool
	audioPT  uint8 // PCMU (0) or PCMA (8)
	id       string
	caller   string
	recs     recordings

	keys      chan rune
	hungUp    chan struct{}
	recording atomic.Pointer[recorder]
	// forward, while the call is bridged, takes the caller's audio to the
	// agent.
	forward atomic.Pointer[forwarder]
	// stereo, while a bridged call is recorded, takes the caller's audio
	// to the recording's left channel.
	stereo atomic.Pointer[stereoRecorder]
	// conf, while a supervisor is on the call, mixes its audio instead of
	// forward.
	conf atomic.Pointer[conference]
	// handoff, when an agent transfers the call, is where it goes next.
	handoff atomic.Pointer[handoff]
	// recorder records the call's conversations (the call's goroutine
	// opens and closes it).
	recorder *stereoRecorder
	// lastKey is when the last key arrived (unix nanoseconds), until the
	// next prompt starts and its response time is taken.
	lastKey   atomic.Int64
	responses []time.Duration
}

// recorder writes the caller's audio to a WAV file as 16-bit PCM.
type recorder struct {
	mu     sync.Mutex // the reader writes while the menu's goroutine closes
	closed bool
	f      *os.File
	wav    *audio.WavWriter
	pcm    []byte
	err    error
}

func (r *recorder) write(pt uint8, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.closed {
		return
	}
	var pcm []byte
	if pcm, r.err = decodeG711(&r.pcm, pt, payload); r.err == nil && pcm != nil {
		_, r.err = r.wav.Write(pcm)
	}
}

// encodeG711 encodes 16-bit PCM as PCMA when codec is its payload type,
// else as PCMU.
func encodeG711(dst []byte, codec uint8, pcm []byte) (int, error) {
	if codec == media.CodecAudioAlaw.PayloadType {
		return audio.EncodeAlawTo(dst, pcm)
	}
	return audio.EncodeUlawTo(dst, pcm)
}

// decodeG711 decodes a payload of PCMU or PCMA into buf (grown as needed)
// as 16-bit PCM; other payload types give nil.
func decodeG711(buf *[]byte, pt uint8, payload []byte) ([]byte, error) {
	if cap(*buf) < 2*len(payload) {
		*buf = make([]byte, 2*len(payload))
	}
	pcm := (*buf)[:2*len(payload)]
	var n int
	var err error
	switch pt {
	case media.CodecAudioUlaw.PayloadType:
		n, err = audio.DecodeUlawTo(pcm, payload)
	case media.CodecAudioAlaw.PayloadType:
		n, err = audio.DecodeAlawTo(pcm, payload)
	default:
		return nil, nil
	}
	return pcm[:n], err
}

func newSIPCall(d *diago.DialogServerSession, m *diago.DialogMedia, id, caller string, prompts *promptCache, fallback string, recs recordings, log *slog.Logger) (*sipCall, error) {
	c := &sipCall{d: d, m: m, id: id, caller: caller, prompts: prompts, fallback: fallback, recs: recs, log: log, keys: make(chan rune, 64), hungUp: make(chan struct{})}
	audioSet := false
	if ms := m.MediaSession(); ms != nil {
		for _, codec := range ms.CommonCodecs() {
			switch {
			case codec.Name == media.CodecTelephoneEvent8000.Name:
				c.dtmfPT, c.hasDTMF = codec.PayloadType, true
			case !audioSet && (codec.Name == media.CodecAudioUlaw.Name || codec.Name == media.CodecAudioAlaw.Name):
				c.audioPT, audioSet = codec.PayloadType, true
			}
		}
	}
	audio, err := m.AudioReader()
	if err != nil {
		return nil, fmt.Errorf("reading the call's audio: %w", err)
	}
	goSafe(log, "reading a call's audio", func() { c.read(audio) })
	return c, nil
}

// read reads RTP until the call's media closes.
func (c *sipCall) read(audio io.Reader) {
	defer close(c.hungUp)
	var events rfc4733
	buf := make([]byte, media.RTPBufSize)
	for {
		n, err := audio.Read(buf)
		if err != nil {
			return
		}
		hdr := c.m.RTPPacketReader.PacketHeader
		if c.hasDTMF && hdr.PayloadType == c.dtmfPT {
			if k, ok := events.event(buf[:n], hdr.Timestamp, time.Now()); ok {
				c.key(k)
			}
			continue
		}
		if r := c.recording.Load(); r != nil {
			r.write(hdr.PayloadType, buf[:n])
		}
		if hdr.PayloadType != c.audioPT {
			continue
		}
		if r := c.stereo.Load(); r != nil {
			r.write(sideCaller, hdr.PayloadType, buf[:n])
		}
		if m := c.conf.Load(); m != nil {
			m.push(sideCaller, hdr.PayloadType, buf[:n])
		} else if f := c.forward.Load(); f != nil {
			f.write(buf[:n])
		}
	}
}

// key takes a key pressed by RTP event or SIP INFO.
func (c *sipCall) key(k rune) {
	c.lastKey.Store(time.Now().UnixNano())
	select {
	case c.keys <- k:
	default:
		c.log.Warn("dropping a key: 64 unread", "key", string(k))
	}
}

// play plays prompts until they end, ctx ends, or stop (when not nil)
// delivers; it reports whether it was stopped.
func (c *sipCall) play(ctx context.Context, lang string, prompts []string, stop <-chan struct{}) error {
	for _, p := range prompts {
		data, err := c.prompts.get(lang, p, c.fallback)
		if err != nil {
			c.log.Error("a prompt is missing", "prompt", p, "lang", lang, "err", err)
			continue // a missing recording must not cut the caller off
		}
		pb, err := c.m.PlaybackControlCreate()
		if err != nil {
			return fmt.Errorf("starting a prompt: %w", err)
		}
		if at := c.lastKey.Swap(0); at != 0 {
			d := time.Since(time.Unix(0, at))
			c.responses = append(c.responses, d)
			keyResponse.Observe(d.Seconds())
		}
		done := playing(c.log, func() error {
			_, err := pb.Play(bytes.NewReader(data), "audio/wav")
			return err
		})
		select {
		case err := <-done:
			if err != nil {
				return c.ended(ctx, err)
			}
		case <-stop:
			pb.Stop()
			<-done
			return nil
		case <-ctx.Done():
			pb.Stop()
			<-done
			return ivr.ErrHangup
		}
	}
	return nil
}

// errPromptPanicked is what a prompt that panicked ends with.
var errPromptPanicked = errors.New("playing a prompt panicked")

// playing runs play in a goroutine of its own and delivers what it
// returns, once, on the channel it returns. The send is deferred, as
// relay's is, so that it happens even when play panics (goSafe recovers
// only after f's deferred calls): play's caller waits on the channel, and
// would otherwise wait for good, leaking the call.
func playing(log *slog.Logger, play func() error) <-chan error {
	done := make(chan error, 1)
	goSafe(log, "a prompt", func() {
		err := errPromptPanicked
		defer func() { done <- err }()
		err = play()
	})
	return done
}

// ended tells a hang-up from another media error.
func (c *sipCall) ended(ctx context.Context, err error) error {
	select {
	case <-c.hungUp:
		return ivr.ErrHangup
	default:
	}
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return ivr.ErrHangup
	}
	return err
}

// dropKeys forgets keys pressed before the menu asked for any (type-ahead
// during a prompt that does not take keys).
func (c *sipCall) dropKeys() {
	for {
		select {
		case <-c.keys:
		default:
			return
		}
	}
}

// Play implements ivr.Channel.
func (c *sipCall) Play(ctx context.Context, lang string, prompts []string) error {
	return c.play(ctx, lang, prompts, nil)
}

// Gather implements ivr.Channel: keys pressed before the gather (while an
// earlier prompt played) are dropped, a key stops the prompt, and each key
// restarts the timeout.
func (c *sipCall) Gather(ctx context.Context, lang string, prompts []string, max int, terminator string, timeout time.Duration) (string, error) {
	c.dropKeys()
	var digits []rune
	first := make(chan struct{})
	var once sync.Once
	pressed := make(chan rune, 1)
	// The prompt plays while the first key is awaited.
	goSafe(c.log, "awaiting the first key", func() {
		select {
		case k := <-c.keys:
			pressed <- k
			once.Do(func() { close(first) })
		case <-ctx.Done():
		case <-first:
		}
	})
	if err := c.play(ctx, lang, prompts, first); err != nil {
		once.Do(func() { close(first) })
		return "", err
	}
	take := func(k rune) bool {
		if terminator != "" && string(k) == terminator {
			return true
		}
		digits = append(digits, k)
		return len(digits) >= max
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case k := <-pressed:
		if take(k) {
			return string(digits), nil
		}
	case <-timer.C:
		once.Do(func() { close(first) })
		select { // a key that raced the timeout still counts
		case k := <-pressed:
			if take(k) {
				return string(digits), nil
			}
		default:
			return "", nil
		}
	case <-ctx.Done():
		return "", ivr.ErrHangup
	}
	for {
		timer.Reset(timeout)
		select {
		case k := <-c.keys:
			if take(k) {
				return string(digits), nil
			}
		case <-timer.C:
			return string(digits), nil
		case <-ctx.Done():
			return "", ivr.ErrHangup
		}
	}
}

// Record implements ivr.Channel: the caller's side, as 8 kHz 16-bit mono
// WAV kept with the recordings, until max, a key or the hang-up. It
// returns the recording's key in the file store.
func (c *sipCall) Record(ctx context.Context, max time.Duration) (string, error) {
	started := time.Now()
	f, err := c.recs.create("vm-" + safeName(c.id) + ".wav")
	if err != nil {
		return "", err
	}
	name := f.Name()
	wav := audio.NewWavWriter(f)
	wav.NumChans = 1
	r := &recorder{f: f, wav: wav}
	c.dropKeys()
	c.recording.Store(r)
	timer := time.NewTimer(max)
	var hung error
	select {
	case <-timer.C:
	case <-c.keys:
	case <-c.hungUp:
		hung = ivr.ErrHangup
	case <-ctx.Done():
		hung = ivr.ErrHangup
	}
	timer.Stop()
	c.recording.Store(nil)
	r.mu.Lock()
	r.closed = true
	err = errors.Join(r.err, wav.Close(), f.Close())
	r.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("writing recording %s: %w", name, err)
	}
	key, err := c.recs.keep(ctx, name, started)
	if err != nil {
		return "", err
	}
	return key, hung
}

// safeName keeps the letters, digits, dots and dashes of a Call-ID for a
// file name.
func safeName(s string) string {
	out := []rune{}
	for _, r := range s {
		if r < 128 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			out = append(out, r)
		} else {
			out = append(out, '_')
		}
	}
	if len(out) > 100 {
		out = out[:100]
	}
	return string(out)
}

// promptCache holds prompt files in memory: a few megabytes, read once,
// instead of a file read per call.
type promptCache struct {
	dir   string
	mu    sync.RWMutex
	files map[string][]byte
}

// get returns a prompt in lang, or in fallback when lang has none.
func (p *promptCache) get(lang, name, fallback string) ([]byte, error) {
	data, err := p.file(lang, name)
	if errors.Is(err, os.ErrNotExist) && fallback != "" && fallback != lang {
		return p.file(fallback, name)
	}
	return data, err
}

func (p *promptCache) file(lang, name string) ([]byte, error) {
	key := lang + "/" + name
	p.mu.RLock()
	data, ok := p.files[key]
	p.mu.RUnlock()
	if ok {
		return data, nil
	}
	data, err := os.ReadFile(filepath.Join(p.dir, lang, name+".wav"))
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.files[key] = data
	p.mu.Unlock()
	return data, nil
}
