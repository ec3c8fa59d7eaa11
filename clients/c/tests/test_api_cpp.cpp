// The public header from C++: a small RAII wrapper, as docs/integrate-c.md shows it.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "licentia.h"

namespace {

struct HandleClose {
    void operator()(licentia *h) const { licentia_close(h); }
};
struct StatusFree {
    void operator()(licentia_status *s) const { licentia_status_free(s); }
};
using Handle = std::unique_ptr<licentia, HandleClose>;
using Status = std::unique_ptr<licentia_status, StatusFree>;

Handle open(const std::string &url, const std::string &product, const std::string &key, const std::string &dir) {
    licentia *raw = nullptr;
    licentia_error rc = licentia_open(&raw, url.c_str(), product.c_str(), key.c_str(), dir.c_str());
    if (rc != LICENTIA_OK) throw std::runtime_error(licentia_error_message(rc));
    return Handle(raw);
}

int failures = 0;
void expect(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what);
        failures++;
    }
}

}  // namespace

int main() {
    const std::string key = "ed25519:e5453c542f32c093:hE99QWF21KEbZyi2w-beRB6-nrFBj0KuB9WE2LEgW_k";
    try {
        open("https://licensing.example.com", "My App", key, "/tmp/x");
        expect(false, "a bad slug throws");
    } catch (const std::runtime_error &) {
    }
    Handle h = open("http://127.0.0.1:9", "my-app", key, "/tmp/licentia-cpp-never-written");
    licentia_set_option(h.get(), LICENTIA_OPT_FINGERPRINT_ROOT, "/nonexistent");
    licentia_status *raw = nullptr;
    expect(licentia_check(h.get(), 0, &raw) == LICENTIA_OK, "offline check answers");
    Status st(raw);
    expect(!licentia_status_allowed(st.get()), "nothing stored grants nothing");
    expect(std::string(licentia_status_reason(st.get())) == "no_document", "reason no_document");
    licentia_status *moved = nullptr;
    expect(licentia_move_from(h.get(), "/tmp/licentia-cpp-no-such-dir", &moved) == LICENTIA_E_ARGUMENT && !moved,
           "nothing to move");
    char word[101];
    licentia_last_refusal(h.get(), word, sizeof word);
    expect(std::string(word) == LICENTIA_MOVE_NO_INSTALLATION, "refused as no_installation");
    expect(licentia_last_retry_after(h.get()) == -1 && !licentia_last_refusal_detail(h.get(), "message", word, sizeof word),
           "no Retry-After, no details");
    expect(licentia_status_entitlement_int(st.get(), "max_projects", 3) == 3 &&
               licentia_status_entitlement_type(st.get(), "edition") == LICENTIA_ENTITLEMENT_NONE &&
               licentia_status_customer_id(st.get()) == -1 && !licentia_status_release_version(st.get()),
           "no entitlement, licensee or release without a document");
    licentia_lease *lease = nullptr;
    expect(licentia_checkout(h.get(), "abcde", 0, &lease) == LICENTIA_E_INVALID_KEY && !lease, "a lease for a typo");
    licentia_consumption used;
    expect(licentia_consume(h.get(), "not a meter", 1, nullptr, &used) == LICENTIA_E_ARGUMENT, "a bad meter");
    expect(std::string(licentia_version()) == LICENTIA_VERSION && licentia_protocol_version() == LICENTIA_PROTOCOL_VERSION,
           "versions");
    char *normalized = nullptr;
    expect(licentia_normalize_key("abcde-fghjk", &normalized) == LICENTIA_E_INVALID_KEY, "typo");
    licentia_free(normalized);
    std::fprintf(stderr, "C++ API: %d failed\n", failures);
    return failures ? 1 : 0;
}
