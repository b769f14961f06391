package telephony

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago/audio"

	"github.com/hotline12345/hotline/core/filestore"
)

// Sides of a stereo recording: the citizen on the left channel, the agent
// on the right, so quality inspectors can hear (and speech-to-text can
// tell) who said what.
const (
	sideCaller = 0
	sideAgent  = 1
)

const (
	// maxSkew is how far (in 8 kHz samples, 200 ms) one side may run ahead
	// of the other before the other is taken as silent: phones with
	// silence suppression send nothing while nobody speaks.
	maxSkew = 1600
	// flushBytes is how much interleaved audio is kept before a write
	// (about one second): one write a second per call, not one a packet.
	flushBytes = 32000
)

// stereoRecorder writes a bridged call to a 16-bit 8 kHz stereo WAV.
// Both legs' readers write; packets of each side are decoded to PCM and
// paired with the other side's by order of arrival. A side that sent
// nothing for a while (silence suppression, a muted phone) is filled with
// silence by the wall clock, so the recording lasts as long as the call.
type stereoRecorder struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	wav     *audio.WavWriter
	pending [2][]int16
	written int // samples per side moved to out
	out     []byte
	pcm     []byte
	started time.Time
	err     error
	closed  bool
}

// recordings is where recordings go: written to a local spool folder while
// the call lasts (a WAV header is rewritten when it ends), then moved into
// the file store, where every node serves them.
type recordings struct {
	files filestore.Store
	spool string
}

// create makes the spool file for the recording named name (call-7.wav).
func (r recordings) create(name string) (*os.File, error) {
	if err := os.MkdirAll(r.spool, 0o750); err != nil {
		return nil, fmt.Errorf("creating the recordings spool folder: %w", err)
	}
	f, err := os.Create(filepath.Join(r.spool, name))
	if err != nil {
		return nil, fmt.Errorf("creating a recording: %w", err)
	}
	return f, nil
}

// keep moves a finished spool file into the file store, by the day it
// started, and returns its key: what the call's row holds.
func (r recordings) keep(ctx context.Context, path string, started time.Time) (string, error) {
	key := "recordings/" + started.Format("2006/01/02") + "/" + filepath.Base(path)
	if err := r.files.Move(context.WithoutCancel(ctx), key, path); err != nil {
		return "", fmt.Errorf("keeping recording %s: %w", key, err)
	}
	return key, nil
}

// newStereoRecorder creates the spool file of the recording name.wav.
func newStereoRecorder(r recordings, name string) (*stereoRecorder, error) {
	f, err := r.create(name + ".wav")
	if err != nil {
		return nil, err
	}
	wav := audio.NewWavWriter(f)
	wav.NumChans = 2
	return &stereoRecorder{path: f.Name(), f: f, wav: wav, started: time.Now()}, nil
}

// write adds one RTP payload of G.711 audio to a side.
func (r *stereoRecorder) write(side int, pt uint8, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.closed {
		return
	}
	pcm, err := decodeG711(&r.pcm, pt, payload)
	if err != nil || pcm == nil {
		return // one bad packet is not worth the recording
	}
	n := len(pcm)
	samples := n / 2
	if gap := r.due() - (r.written + len(r.pending[side]) + samples); gap > maxSkew {
		r.pending[side] = append(r.pending[side], make([]int16, gap)...)
	}
	for i := 0; i+1 < n; i += 2 {
		r.pending[side] = append(r.pending[side], int16(binary.LittleEndian.Uint16(pcm[i:])))
	}
	other := 1 - side
	if lag := len(r.pending[side]) - len(r.pending[other]); lag > maxSkew {
		r.pending[other] = append(r.pending[other], make([]int16, lag-maxSkew/2)...)
	}
	r.interleave(false)
}

// due is how many samples per side the call has lasted so far.
func (r *stereoRecorder) due() int { return int(time.Since(r.started) * 8000 / time.Second) }

// interleave moves the samples both sides have to the output, and writes
// it out when it is large (or when flush is set, all of it).
func (r *stereoRecorder) interleave(flush bool) {
	n := min(len(r.pending[0]), len(r.pending[1]))
	for i := range n {
		r.out = binary.LittleEndian.AppendUint16(r.out, uint16(r.pending[0][i]))
		r.out = binary.LittleEndian.AppendUint16(r.out, uint16(r.pending[1][i]))
	}
	r.written += n
	r.pending[0] = append(r.pending[0][:0], r.pending[0][n:]...)
	r.pending[1] = append(r.pending[1][:0], r.pending[1][n:]...)
	if len(r.out) >= flushBytes || flush && len(r.out) > 0 {
		_, r.err = r.wav.Write(r.out)
		r.out = r.out[:0]
	}
}

// close pads the shorter side with silence, writes the rest and closes the
// spool file; it returns the file's path and size.
func (r *stereoRecorder) close() (string, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.path, 0, errors.New("recording closed twice")
	}
	r.closed = true
	if r.err == nil {
		long := max(len(r.pending[0]), len(r.pending[1]), r.due()-r.written)
		for s := range r.pending {
			r.pending[s] = append(r.pending[s], make([]int16, long-len(r.pending[s]))...)
		}
		r.interleave(true)
	}
	err := errors.Join(r.err, r.wav.Close(), r.f.Close())
	if err != nil {
		return r.path, 0, fmt.Errorf("writing recording %s: %w", r.path, err)
	}
	st, err := os.Stat(r.path)
	if err != nil {
		return r.path, 0, err
	}
	return r.path, st.Size(), nil
}

// startRecording opens the stereo recording of call rec, or returns nil
// (and logs why) when it cannot: the conversation matters more than its
// recording.
func (s *Server) startRecording(rec *callRecord, log *slog.Logger) *stereoRecorder {
	r, err := newStereoRecorder(s.recordings(), "call-"+strconv.FormatInt(rec.id, 10))
	if err != nil {
		log.Error("starting the call's recording", "err", err)
		return nil
	}
	return r
}

// finishRecording closes a recording (nil: none) and keeps where it is.
func (s *Server) finishRecording(ctx context.Context, rec *callRecord, r *stereoRecorder, log *slog.Logger) {
	if r == nil {
		return
	}
	path, size, err := r.close()
	if err != nil {
		log.Error("finishing the call's recording", "err", err)
		return
	}
	key, err := s.recordings().keep(ctx, path, r.started)
	if err != nil {
		log.Error("finishing the call's recording", "err", err)
		return
	}
	s.records.recorded(ctx, rec, key, size)
}

func (s *Server) recordings() recordings { return recordings{files: s.Files, spool: s.Cfg.Spool} }

// wavHeader is the size of the header diago's WavWriter writes; the RIFF
// and data sizes in it are set when the writer closes.
const wavHeader = 44

// salvageRecordings keeps what a stop left in the spool: the recordings
// of calls this node had open when it stopped (their records closed by
// reconcile just before), or finished but not stored. A WAV's header
// gets its sizes only when its call ends, so they are set from the
// file's; the file then goes to the store and onto its call's row, as it
// would have. A file no call of this node is waiting for is left where it
// is, and logged.
func (s *Server) salvageRecordings(ctx context.Context) error {
	entries, err := os.ReadDir(s.Cfg.Spool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the recordings spool: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".wav")
		if e.IsDir() || !ok {
			continue
		}
		path := filepath.Join(s.Cfg.Spool, e.Name())
		rec, started, ok, err := s.records.spooled(ctx, name)
		if err != nil {
			return err
		}
		if !ok {
			s.Log.Warn("a recording in the spool belongs to no call of this node waiting for one; left there", "file", path)
			continue
		}
		size, err := fixWAVSizes(path)
		if err != nil {
			return fmt.Errorf("salvaging recording %s: %w", path, err)
		}
		if size == 0 { // no audio came: nothing to keep
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("removing empty recording %s: %w", path, err)
			}
			continue
		}
		key, err := s.recordings().keep(ctx, path, started)
		if err != nil {
			return err
		}
		s.records.write(ctx, rec, "recorded", map[string]any{"bytes": size, "salvaged": true}, "recording = $2, recording_bytes = $3", key, size)
		s.Log.Warn("kept a recording a stop left in the spool", "call", rec.id, "recording", key, "bytes", size)
	}
	return nil
}

// fixWAVSizes sets the RIFF and data sizes of the WAV at path from its
// length and returns the length; a file without a whole header gives 0.
func fixWAVSizes(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size < wavHeader {
		return 0, nil
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(size-8))
	if _, err := f.WriteAt(b[:], 4); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(b[:], uint32(size-wavHeader))
	if _, err := f.WriteAt(b[:], 40); err != nil {
		return 0, err
	}
	return size, f.Close()
}
