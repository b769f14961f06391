package identity

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{" 192.0.2.1 ", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", ""},
		{"not-an-address", "not-an-address"},
		{strings.Repeat("x", 100), strings.Repeat("x", 64)},
		{"\xff\xfe", "?"},
	} {
		assert.Equal(t, tc.want, sourceKey(tc.addr), "%q", tc.addr)
	}
}

// FuzzSourceKey: any client address text gives a short, valid key, stable
// when keyed again, and every address of one IPv6 /64 gives the same key.
func FuzzSourceKey(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "::ffff:10.0.0.1", "2001:db8::1", "fe80::1%lo", "", "x\xff", strings.Repeat("é", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		k := sourceKey(addr)
		if !utf8.ValidString(k) || utf8.RuneCountInString(k) > 64 {
			t.Fatalf("key %q of %q is not short valid text", k, addr)
		}
		if again := sourceKey(k); again != k {
			t.Fatalf("keying %q again gives %q", k, again)
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(addr))
		if err != nil || ip.Unmap().Is4() {
			return
		}
		b := ip.As16()
		for i := 8; i < 16; i++ {
			b[i] ^= 0xff
		}
		if other := sourceKey(netip.AddrFrom16(b).String()); other != k {
			t.Fatalf("%q and %q share a /64 but key as %q and %q", addr, netip.AddrFrom16(b), k, other)
		}
	})
}
