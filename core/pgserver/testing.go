package pgserver

// TestEnvVar carries the admin connection string of the throwaway server
// `hotline testdb` starts for a test run; core/pgtest reads it.
const TestEnvVar = "HOTLINE_TEST_PG"

// TestSettings make a throwaway server fast: durability is irrelevant to a
// database that lives for one test run.
var TestSettings = map[string]string{
	"fsync":              "off",
	"synchronous_commit": "off",
	"full_page_writes":   "off",
	"max_connections":    "300",
}
