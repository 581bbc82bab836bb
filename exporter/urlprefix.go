package exporter

// DefaultURLPrefix is where the browse pages are served by default
// (APP_ERROR_URL_PREFIX unset), as in the Python library. It is the one
// definition: processor.DefaultURLPrefix and browse.DefaultURLPrefix are
// aliases of it, and the links in notifications are built on the same
// prefix.
const DefaultURLPrefix = "/dev/error"
