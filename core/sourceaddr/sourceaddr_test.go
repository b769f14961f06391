package sourceaddr

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKey(t *testing.T) {
	for _, tc := range []struct{ addr, key, text string }{
		{"192.0.2.1", "192.0.2.1/32", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1/32", "192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64", "fe80::/64"},
		{"::1", "::/64", "::/64"},
	} {
		ip := netip.MustParseAddr(tc.addr)
		assert.Equal(t, netip.MustParsePrefix(tc.key), Key(ip), tc.addr)
		assert.Equal(t, tc.text, String(ip), tc.addr)
	}
	assert.Equal(t, netip.Prefix{}, Key(netip.Addr{}))
	assert.Equal(t, "", String(netip.Addr{}))
	assert.Equal(t, Key(netip.MustParseAddr("fe80::1%eth0")), Key(netip.MustParseAddr("fe80::2%eth1")), "one /64, whatever the zone")
	assert.NotEqual(t, Key(netip.MustParseAddr("2001:db8:1:2::1")), Key(netip.MustParseAddr("2001:db8:1:3::1")), "another /64 is another source")
}
