// Package app wires the kernel together: storage, configuration, identity,
// GraphQL and the HTTP server, and runs them until told to stop.
package app

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hotline12345/hotline/core/filestore"
	"github.com/hotline12345/hotline/core/identity"
)

// Config is the process configuration, read from HOTLINE_* variables.
// Everything a hotline centre decides (states, menus, rules, forms) is not
// here: it is configuration files under flows/, forms/ and scripts/.
type Config struct {
	HTTPAddr    string
	DatabaseURL string
	DataDir     string
	// FilesDir is the file store's folder: attachments, recordings,
	// export files, import uploads (empty: DataDir). Nodes of one cluster
	// share it.
	FilesDir      string
	ConfigDir     string
	AdminPassword string
	DemoPassword  string
	OrgName       string
	AdminRole     string
	LogLevel      string
	LogFormat     string
	TrustProxy    bool
	Policy        identity.Policy
	// AttachmentMaxMB is the largest attachment accepted, in MiB.
	AttachmentMaxMB int
	// SIPAddr is where calls are taken (UDP and TCP); empty takes none.
	SIPAddr string
	// RTPFirst and RTPLast bound the media ports.
	RTPFirst, RTPLast int
	// PromptsDir holds the IVR prompts, <language>/<name>.wav.
	PromptsDir string
	// IVRUser is the account voice messages' and callback requests'
	// tickets are created as.
	IVRUser string
	// RecordingDays is how many days recordings are kept (0: for ever).
	RecordingDays int
	// SIPMaxMessage and SIPMaxHeaders bound one SIP message; SIPRate is
	// the messages a second one address may send (negative: no limit).
	SIPMaxMessage, SIPMaxHeaders int
	SIPRate                      float64
	// OutboxRetention is how long delivered outbox rows are kept
	// (negative: for ever); OutboxAttempts failed deliveries make a row a
	// dead letter, retried after a backoff doubling up to OutboxRetryMax.
	OutboxRetention time.Duration
	OutboxAttempts  int
	OutboxRetryMax  time.Duration
	// NoticeRetention is how long read notices are kept (negative: for
	// ever).
	NoticeRetention time.Duration
	// ConfigPoll is how often a node checks the database's configuration
	// generation when no notification came (a lost LISTEN connection).
	ConfigPoll time.Duration
}

// Files is the file store the services keep their files in.
func (c Config) Files() filestore.Dir {
	if c.FilesDir == "" {
		return filestore.Dir{Root: c.DataDir}
	}
	return filestore.Dir{Root: c.FilesDir}
}

// Variable documents one environment variable; README lists them.
type Variable struct{ Name, Default, Meaning string }

// Variables are the variables FromEnv reads.
var Variables = []Variable{
	{"HOTLINE_HTTP_ADDR", "127.0.0.1:8080", "HTTP listen address (GraphQL, GraphiQL, health, metrics)"},
	{"HOTLINE_DATABASE_URL", "", "PostgreSQL URL; empty runs a private PostgreSQL under $HOTLINE_DATA_DIR/pg"},
	{"HOTLINE_DATA_DIR", "./var", "data folder: the private PostgreSQL, the knowledge search index, recordings while their call lasts, and the files unless HOTLINE_FILES_DIR is set"},
	{"HOTLINE_FILES_DIR", "", "file store folder: attachments, call recordings, export files, knowledge import uploads; nodes of one cluster mount the same folder here, so any node serves any download. Empty: HOTLINE_DATA_DIR"},
	{"HOTLINE_CONFIG_DIR", ".", "folder holding flows/, forms/ and scripts/: what seeds an empty database, and what `serve --watch`, SIGHUP and `hotline config push` publish; the database holds what runs"},
	{"HOTLINE_CONFIG_POLL", "5s", "how often a node checks whether the running configuration changed in the database, besides the notification every publish sends"},
	{"HOTLINE_ADMIN_PASSWORD", "", "password of the first 'admin' account; empty generates one and prints it once (with --demo: the demo password)"},
	{"HOTLINE_DEMO_PASSWORD", "Hotline@12345", "password of the demo accounts created by --demo"},
	{"HOTLINE_ORG_NAME", "本机构", "name of the root unit created on first start"},
	{"HOTLINE_ADMIN_ROLE", "admin", "role (from flows/) given to the first 'admin' account; it must have scope all"},
	{"HOTLINE_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"HOTLINE_LOG_FORMAT", "text", "text or json"},
	{"HOTLINE_TRUST_PROXY", "false", "take the client address from X-Forwarded-For (behind a reverse proxy)"},
	{"HOTLINE_PASSWORD_MIN_LENGTH", "8", "password policy: minimum length"},
	{"HOTLINE_PASSWORD_MIN_CLASSES", "3", "password policy: character classes of lower, upper, digit, symbol"},
	{"HOTLINE_LOGIN_MAX_FAILURES", "5", "wrong passwords in a row before the account locks"},
	{"HOTLINE_LOCKOUT_DURATION", "15m", "how long a locked account stays locked; every attempt during the lock runs it again from then"},
	{"HOTLINE_LOGIN_SOURCE_MAX_FAILURES", "20", "failed logins from one client address (an IPv6 address by its /64), to any accounts, within HOTLINE_LOGIN_SOURCE_WINDOW before the address is refused for accounts it has not signed in to; 0 turns this off"},
	{"HOTLINE_LOGIN_SOURCE_WINDOW", "15m", "the window of HOTLINE_LOGIN_SOURCE_MAX_FAILURES, and how long a throttled address stays refused (extended by every attempt)"},
	{"HOTLINE_LOGIN_KNOWN_SOURCE_DAYS", "90", "days a successful login makes its address known to the account: strangers' failures do not lock the account there (that address has its own limit); 0 makes the account lock apply everywhere"},
	{"HOTLINE_SESSION_TTL", "12h", "longest life of a session"},
	{"HOTLINE_SESSION_IDLE", "2h", "a session unused this long ends"},
	{"HOTLINE_ATTACHMENT_MAX_MB", "20", "largest attachment accepted, in MiB (files are stored under attachments/ in the file store)"},
	{"HOTLINE_SIP_ADDR", "127.0.0.1:5060", "SIP listen address, UDP and TCP; empty takes no calls"},
	{"HOTLINE_SIP_MAX_MESSAGE", "16384", "largest SIP message accepted, in bytes (start line, headers and body); a larger one, or one declaring a larger body, is refused 513 before anything is allocated (over TCP the connection then closes)"},
	{"HOTLINE_SIP_MAX_HEADERS", "128", "most header fields in one SIP message; more is refused 400"},
	{"HOTLINE_SIP_RATE", "2000", "SIP messages a second one source address may send (bursts of twice that); beyond it messages are dropped unparsed; 0 turns the limit off"},
	{"HOTLINE_RTP_PORTS", "", "UDP port range for call media, e.g. 20000-29999 (RTP on even ports, RTCP on the next); empty lets the system choose. A range is allocated by diago, which does not wrap around: a long call on the range's last ports can refuse new calls"},
	{"HOTLINE_IVR_USER", "ivr", "account that creates the tickets of voice messages and callback requests left in the IVR (its roles must allow the menu's creating action; --demo makes it)"},
	{"HOTLINE_RECORDING_DAYS", "180", "days call recordings (under recordings/ in the file store) are kept after the call, or after the last ticket bound to the call closed; 0 keeps them for ever"},
	{"HOTLINE_OUTBOX_RETENTION", "168h", "how long delivered outbox rows (ticket changes, notices) are kept before they are deleted; 0 keeps them for ever. Users' notices are kept apart (HOTLINE_NOTICE_RETENTION)"},
	{"HOTLINE_OUTBOX_MAX_ATTEMPTS", "10", "failed deliveries of an outbox row before it becomes a dead letter (outboxDeadLetters, retryOutbox)"},
	{"HOTLINE_NOTICE_RETENTION", "2160h", "how long users' read notices are kept (unread ones stay until read, but those of disabled accounts go as read ones do); 0 keeps them for ever"},
	{"HOTLINE_OUTBOX_RETRY_MAX", "10m", "longest wait between retries of a failed delivery (the wait starts at 1 s and doubles)"},
	{"HOTLINE_PROMPTS_DIR", "testdata/prompts", "IVR prompts, <language>/<name>.wav (8 kHz 16-bit mono), relative to HOTLINE_CONFIG_DIR"},
}

// FromEnv reads the configuration; an unparsable value is an error naming
// the variable.
func FromEnv() (Config, error) {
	get := func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		for _, v := range Variables {
			if v.Name == name {
				return v.Default
			}
		}
		panic("app: undeclared variable " + name)
	}
	c := Config{
		HTTPAddr:      get("HOTLINE_HTTP_ADDR"),
		DatabaseURL:   get("HOTLINE_DATABASE_URL"),
		DataDir:       get("HOTLINE_DATA_DIR"),
		FilesDir:      get("HOTLINE_FILES_DIR"),
		ConfigDir:     get("HOTLINE_CONFIG_DIR"),
		AdminPassword: get("HOTLINE_ADMIN_PASSWORD"),
		DemoPassword:  get("HOTLINE_DEMO_PASSWORD"),
		OrgName:       get("HOTLINE_ORG_NAME"),
		AdminRole:     get("HOTLINE_ADMIN_ROLE"),
		LogLevel:      get("HOTLINE_LOG_LEVEL"),
		LogFormat:     get("HOTLINE_LOG_FORMAT"),
		Policy:        identity.DefaultPolicy(),
		SIPAddr:       get("HOTLINE_SIP_ADDR"),
		PromptsDir:    get("HOTLINE_PROMPTS_DIR"),
		IVRUser:       get("HOTLINE_IVR_USER"),
	}
	var errs []error
	intVar := func(name string, dst *int) {
		n, err := strconv.Atoi(get(name))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: expected a non-negative whole number, got %q", name, get(name)))
			return
		}
		*dst = n
	}
	durVar := func(name string, dst *time.Duration) {
		d, err := time.ParseDuration(get(name))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: expected a duration such as 15m or 12h, got %q", name, get(name)))
			return
		}
		*dst = d
	}
	var err error
	if c.TrustProxy, err = strconv.ParseBool(get("HOTLINE_TRUST_PROXY")); err != nil {
		errs = append(errs, fmt.Errorf("HOTLINE_TRUST_PROXY: expected true or false, got %q", get("HOTLINE_TRUST_PROXY")))
	}
	intVar("HOTLINE_PASSWORD_MIN_LENGTH", &c.Policy.Password.MinLength)
	intVar("HOTLINE_PASSWORD_MIN_CLASSES", &c.Policy.Password.MinClasses)
	intVar("HOTLINE_LOGIN_MAX_FAILURES", &c.Policy.MaxFailures)
	intVar("HOTLINE_ATTACHMENT_MAX_MB", &c.AttachmentMaxMB)
	intVar("HOTLINE_RECORDING_DAYS", &c.RecordingDays)
	intVar("HOTLINE_SIP_MAX_MESSAGE", &c.SIPMaxMessage)
	intVar("HOTLINE_SIP_MAX_HEADERS", &c.SIPMaxHeaders)
	var sipRate int
	intVar("HOTLINE_SIP_RATE", &sipRate)
	c.SIPRate = float64(sipRate)
	if sipRate == 0 {
		c.SIPRate = -1 // telephony reads 0 as its default
	}
	if c.SIPMaxMessage < 1024 {
		errs = append(errs, fmt.Errorf("HOTLINE_SIP_MAX_MESSAGE: must be at least 1024 bytes (an ordinary INVITE with SDP takes about 1,000)"))
	}
	if c.SIPMaxHeaders < 16 {
		errs = append(errs, fmt.Errorf("HOTLINE_SIP_MAX_HEADERS: must be at least 16"))
	}
	durVar("HOTLINE_LOCKOUT_DURATION", &c.Policy.LockoutDuration)
	intVar("HOTLINE_LOGIN_SOURCE_MAX_FAILURES", &c.Policy.SourceMaxFailures)
	durVar("HOTLINE_LOGIN_SOURCE_WINDOW", &c.Policy.SourceWindow)
	var knownDays int
	intVar("HOTLINE_LOGIN_KNOWN_SOURCE_DAYS", &knownDays)
	c.Policy.KnownSourceTTL = time.Duration(knownDays) * 24 * time.Hour
	if get("HOTLINE_OUTBOX_RETENTION") == "0" {
		c.OutboxRetention = -1
	} else {
		durVar("HOTLINE_OUTBOX_RETENTION", &c.OutboxRetention)
	}
	c.OutboxAttempts = 1
	intVar("HOTLINE_OUTBOX_MAX_ATTEMPTS", &c.OutboxAttempts)
	if c.OutboxAttempts < 1 {
		errs = append(errs, fmt.Errorf("HOTLINE_OUTBOX_MAX_ATTEMPTS: must be at least 1"))
	}
	durVar("HOTLINE_OUTBOX_RETRY_MAX", &c.OutboxRetryMax)
	if get("HOTLINE_NOTICE_RETENTION") == "0" {
		c.NoticeRetention = -1
	} else {
		durVar("HOTLINE_NOTICE_RETENTION", &c.NoticeRetention)
	}
	durVar("HOTLINE_CONFIG_POLL", &c.ConfigPoll)
	if c.ConfigPoll <= 0 {
		errs = append(errs, fmt.Errorf("HOTLINE_CONFIG_POLL: must be positive"))
	}
	durVar("HOTLINE_SESSION_TTL", &c.Policy.SessionTTL)
	durVar("HOTLINE_SESSION_IDLE", &c.Policy.SessionIdle)
	if get("HOTLINE_RTP_PORTS") == "" {
		// The system chooses each call's ports.
	} else if first, last, ok := strings.Cut(get("HOTLINE_RTP_PORTS"), "-"); !ok {
		errs = append(errs, fmt.Errorf("HOTLINE_RTP_PORTS: expected a range such as 20000-29999, got %q", get("HOTLINE_RTP_PORTS")))
	} else {
		a, err1 := strconv.Atoi(strings.TrimSpace(first))
		b, err2 := strconv.Atoi(strings.TrimSpace(last))
		if err1 != nil || err2 != nil || a < 1024 || b > 65535 || a%2 != 0 || b-a < 10 {
			errs = append(errs, fmt.Errorf("HOTLINE_RTP_PORTS: expected an even first port from 1024 and a range of at least 10 ports below 65536, got %q", get("HOTLINE_RTP_PORTS")))
		}
		c.RTPFirst, c.RTPLast = a, b
	}
	if c.AttachmentMaxMB < 1 {
		errs = append(errs, fmt.Errorf("HOTLINE_ATTACHMENT_MAX_MB: must be at least 1"))
	}
	if c.Policy.MaxFailures < 1 {
		errs = append(errs, fmt.Errorf("HOTLINE_LOGIN_MAX_FAILURES: must be at least 1"))
	}
	if c.Policy.Password.MinClasses > 4 {
		errs = append(errs, fmt.Errorf("HOTLINE_PASSWORD_MIN_CLASSES: at most 4 classes exist"))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("HOTLINE_LOG_FORMAT: expected text or json, got %q", c.LogFormat))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("reading configuration from the environment:\n%w", errors.Join(errs...))
	}
	return c, nil
}
