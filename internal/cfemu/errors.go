package cfemu

import (
	"fmt"
	"net/http"
)

// apiError is one entry of the envelope's "errors" array. The real API nests
// the specific reason for a DNS validation failure under a generic 1004 entry
// in "error_chain", so clients that only print the top-level message show
// "DNS Validation Error"; the emulator keeps that shape.
type apiError struct {
	Code       int        `json:"code"`
	Message    string     `json:"message"`
	ErrorChain []apiError `json:"error_chain,omitempty"`
}

// failure is an error response: the HTTP status and the errors array.
type failure struct {
	status int
	errs   []apiError
}

// errSpec is one row of the table below. The message is a format string for
// the rows whose real text names the request path, zone or target.
type errSpec struct {
	status  int
	code    int
	message string
	// wrapped puts the row under the 1004 "DNS Validation Error" entry, as the
	// real API does for these reasons.
	wrapped bool
}

func (s errSpec) with(args ...any) failure {
	e := apiError{Code: s.code, Message: fmt.Sprintf(s.message, args...)}
	if s.wrapped {
		e = apiError{Code: errDNSValidation.code, Message: errDNSValidation.message, ErrorChain: []apiError{e}}
	}
	return failure{status: s.status, errs: []apiError{e}}
}

// Every code, message and status the emulator returns. Each row names where
// the real API's answer was seen; rows marked "unverified" are the closest
// reading of the evidence, not a captured response, and say what is guessed.
// Statuses: 400 for validation is in every captured response above; 404 for
// missing objects follows terraform-provider-cloudflare (dns_record Read
// drops a resource from state on 404).
var (
	// Authentication.
	//
	// Seen as `400 {"code":9106,"message":"Missing X-Auth-Key, X-Auth-Email or
	// Authorization headers"}` in the error-shape notes of a public Cloudflare
	// API client (code search).
	errMissingAuth = errSpec{http.StatusBadRequest, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers", false}
	// jeessy2/ddns-go#81 (2021) and #916 (2023): 400, 6003 with error_chain
	// 6111 for a malformed Authorization header.
	errBadHeaders       = errSpec{http.StatusBadRequest, 6003, "Invalid request headers", false}
	errBadAuthorization = apiError{Code: 6111, Message: "Invalid format for Authorization header"}
	// A well-formed but unknown bearer token: 403 9109 "Invalid access token",
	// in a 2026 capture ("GET /accounts → 403 {"code":9109,"message":"Invalid
	// access token"}") and in many clients' fixtures.
	errInvalidToken = errSpec{http.StatusForbidden, 9109, "Invalid access token", false}
	// lablabs/cloudflare-exporter#120, hieunc229/mailflare#1 (403, 10000).
	// Used for X-Auth-Key/X-Auth-Email credentials, which the emulator cannot
	// verify because it only knows an API token.
	errAuthentication = errSpec{http.StatusForbidden, 10000, "Authentication error", false}

	// Routing and lookup.
	//
	// timothymiller/cloudflare-ddns#152 (2023), K0p1-Git/cloudflare-ddns-updater#61
	// (2023): the message quotes the request path including /client/v4.
	errNoRouteToObject = errSpec{http.StatusNotFound, 7003, "Could not route to %s, perhaps your object identifier is invalid?", false}
	// zanjie1999/cloudflare-api-v4-ddns#4 (2022), cloudflare/cf-terraforming#254.
	errNoRoute = errSpec{http.StatusNotFound, 7000, "No route for that URI", false}
	// zanjie1999/cloudflare-api-v4-ddns#5 (2022).
	errRecordNotFound = errSpec{http.StatusNotFound, 81044, "Record does not exist.", false}

	// Request bodies.
	//
	// timothymiller/cloudflare-ddns#61 (2021).
	errContentType = errSpec{http.StatusBadRequest, 9207, "Content-type must be application/json.", false}
	// favonia/cloudflare-ddns#1026 (2025) quotes "Request body is invalid";
	// unverified: the code is assumed to be 9207 like the content-type error.
	errBadBody = errSpec{http.StatusBadRequest, 9207, "Request body is invalid.", false}

	// DNS record conflicts.
	//
	// simplesurance/cfdns#17 (81057 became 81058 for an exact duplicate);
	// the message in cisagov/manage.get.gov tests (2026) and other 2025-26
	// fixtures.
	errIdentical = errSpec{http.StatusBadRequest, 81058, "An identical record already exists.", false}
	// HermanMartinus/bearblog#105 (2021), terraform-provider-cloudflare#1247
	// (full 400 response, 2021). simplesurance/cfdns's live tests get this code
	// even for an exact duplicate CNAME, so it is checked before 81058.
	errHostTaken = errSpec{http.StatusBadRequest, 81053, "An A, AAAA, or CNAME record with that host already exists.", false}
	// favonia/cloudflare-ddns#990 (2024-11): adding an A record where a CNAME
	// exists; the converse of 81053 has its own code and text.
	errCNAMETaken = errSpec{http.StatusBadRequest, 81054, "A CNAME record with that host already exists. For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>.", false}

	// DNS record validation.
	//
	// timothymiller/cloudflare-ddns#91 (2022): "CF Error 9000: DNS name is
	// invalid"; the trailing period follows the API's other DNS messages.
	errInvalidName = errSpec{http.StatusBadRequest, 9000, "DNS name is invalid.", false}
	// timothymiller/cloudflare-ddns#230 (2026), yulewang/cloudflare-api-v4-ddns#16
	// (2021); simplesurance/cfdns#17 notes it moved out of the 1004 wrapper.
	errInvalidA = errSpec{http.StatusBadRequest, 9005, "Content for A record must be a valid IPv4 address.", false}
	// Unverified: code and text inferred from 9005; no capture was found.
	errInvalidAAAA = errSpec{http.StatusBadRequest, 9006, "Content for AAAA record must be a valid IPv6 address.", false}
	// kubernetes-sigs/external-dns#2409 (2021), stephenou/fruitionsite#79.
	errInvalidCNAME = errSpec{http.StatusBadRequest, 9007, "Content for CNAME record is invalid.", true}
	// olimpo88/PyDDNS#7 (2020) for the text; unverified: the chain code.
	errInvalidNS = errSpec{http.StatusBadRequest, 9008, "Content for NS record is invalid.", true}
	// Unverified: text and chain code inferred from the CNAME and NS rows.
	errInvalidContent = errSpec{http.StatusBadRequest, 9009, "Content for %s record is invalid.", true}
	// timothymiller/cloudflare-ddns#179 (2024-02).
	errInvalidTTL = errSpec{http.StatusBadRequest, 9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic.", true}
	// stephenou/fruitionsite#104 (2021) shows "This record type cannot be
	// proxied. (Code: 9004)"; hashicorp/terraform#11991 (2017) had an older
	// text under 1004.
	errNotProxiable = errSpec{http.StatusBadRequest, 9004, "This record type cannot be proxied.", false}
	// DNSControl/dnscontrol#4776 (2026): "Target 1.1.1.1 is not allowed for a
	// proxied record. (9003)".
	errTargetNotProxiable = errSpec{http.StatusBadRequest, 9003, "Target %s is not allowed for a proxied record.", false}
	// The text is from aaPanel's table of Cloudflare error messages; the 1004
	// wrapper is how the API reports type problems (octodns-cloudflare#28);
	// unverified: the chain code.
	errInvalidType = errSpec{http.StatusBadRequest, 9002, "DNS record type is invalid.", true}
	// octodns/octodns-cloudflare#28 (2022); unverified: the chain code.
	errSPFType = errSpec{http.StatusBadRequest, 9002, "The SPF record type was deprecated in RFC 7208 and is no longer supported. Use a TXT record instead", true}
	// Wrapper for the rows above marked wrapped: pulumi/pulumi-cloudflare#292,
	// ZE3kr/Cloudflare-CNAME-Setup#16 and others.
	errDNSValidation = errSpec{http.StatusBadRequest, 1004, "DNS Validation Error", false}

	// Zones.
	//
	// midl-dev/tezos-on-gke#3 (2019): `{"code":1061,"message":"[DOMAIN]
	// already exists"}`.
	errZoneExists = errSpec{http.StatusBadRequest, 1061, "%s already exists", false}
	// stackryze/FreeDomains#304 (2026) for the text; unverified: the code.
	errZoneName = errSpec{http.StatusBadRequest, 1099, "Please ensure you are providing the root domain and not any subdomains (e.g., example.com, not subdomain.example.com)", false}
)
