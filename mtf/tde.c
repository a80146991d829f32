/* Key material of a backup under transparent data encryption (TDE), checked step by step:
 *
 *   1. the server certificate (DER, as BACKUP CERTIFICATE writes it) is the one the backup names:
 *      the SHA-1 of its bytes equals the thumbprint in the container header (image.c);
 *   2. its private key (PVK, Microsoft's private key file, RC4-encrypted under a key derived
 *      from the password) decrypts with the password, and belongs to the certificate;
 *   3. the encrypted key of the container header (256 bytes: RSA-2048, stored least significant
 *      byte first as CryptoAPI does) decrypts under that private key (PKCS #1 v1.5) to a
 *      PLAINTEXTKEYBLOB: u8 type 8, u8 version 2, u16 0, u32 ALG_ID, u32 key length, key.
 *      The ALG_ID names the algorithm (0x6610 AES-256, 0x660F AES-192, 0x660E AES-128,
 *      0x6603 triple DES).
 *
 * The decrypted key is never shown, logged or kept: only that it decrypted, its algorithm and
 * length. RSA, RC4 and SHA-1 come from OpenSSL's libcrypto (RC4, which PVK uses, is in its
 * legacy provider). */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_KEY_FILE = 1 << 20, BLOB_HEADER = 12 };

static const char *alg_name(uint32_t alg) {
    switch (alg) {
    case 0x6610: return "AES_256";
    case 0x660F: return "AES_192";
    case 0x660E: return "AES_128";
    case 0x6603: return "TRIPLE_DES_3KEY";
    default: return "unknown algorithm";
    }
}

/* Reads a whole small file (certificates and keys are a few KB). */
static b2p_status slurp_file(const char *path, const char *what, uint8_t **out, size_t *len, b2p_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return b2p_fail(err, B2P_ERR_IO, "'%s': cannot open the %s: %s", path, what, strerror(errno));
    uint8_t *buf = malloc(MAX_KEY_FILE);
    if (!buf) {
        fclose(f);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, MAX_KEY_FILE, f);
    bool too_big = n == MAX_KEY_FILE && fgetc(f) != EOF;
    fclose(f);
    if (too_big || n == 0) {
        free(buf);
        return b2p_fail(err, B2P_ERR_TDE, "'%s': the %s is %s, expected a file of a few KB", path, what,
                        n == 0 ? "empty" : "over 1 MB");
    }
    *out = buf;
    *len = n;
    return B2P_OK;
}

static int give_password(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    size_t n = strlen(u);
    if (n > (size_t)size) n = (size_t)size;
    memcpy(buf, u, n);
    return (int)n;
}

static b2p_status check_certificate(const b2p_media *m, const char *cert_path, X509 **cert,
                                    b2p_tde_keys *out, b2p_error *err) {
    uint8_t *der = NULL;
    size_t len = 0;
    b2p_status st = slurp_file(cert_path, "certificate", &der, &len, err);
    if (st) return st;
    uint8_t sha1[20];
    unsigned sha1_len = 0;
    EVP_Digest(der, len, sha1, &sha1_len, EVP_sha1(), NULL);
    const uint8_t *p = der;
    *cert = d2i_X509(NULL, &p, (long)len);
    free(der);
    if (!*cert) return b2p_fail(err, B2P_ERR_TDE, "'%s': not a DER certificate (as BACKUP CERTIFICATE writes it)", cert_path);
    if (sha1_len != 20 || memcmp(sha1, m->tde_thumbprint, 20) != 0) {
        char want[41], got[41];
        for (int i = 0; i < 20; i++) {
            snprintf(want + 2 * i, 3, "%02X", m->tde_thumbprint[i]);
            snprintf(got + 2 * i, 3, "%02X", sha1[i]);
        }
        return b2p_fail(err, B2P_ERR_TDE,
                        "'%s': this certificate (SHA-1 %s) is not the one '%s' was encrypted under (thumbprint %s): "
                        "another server's certificate?", cert_path, got, m->path, want);
    }
    out->certificate_matches = true;
    return B2P_OK;
}

static b2p_status open_private_key(const char *key_path, const char *password, X509 *cert, EVP_PKEY **key,
                                   b2p_tde_keys *out, b2p_error *err) {
    /* PVK's RC4 lives in the legacy provider; loading it once is enough for the process. */
    static OSSL_PROVIDER *legacy, *deflt;
    if (!legacy) legacy = OSSL_PROVIDER_load(NULL, "legacy");
    if (!deflt) deflt = OSSL_PROVIDER_load(NULL, "default");
    BIO *bio = BIO_new_file(key_path, "rb");
    if (!bio) return b2p_fail(err, B2P_ERR_IO, "'%s': cannot open the private key: %s", key_path, strerror(errno));
    *key = b2i_PVK_bio_ex(bio, give_password, (void *)password, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!*key)
        return b2p_fail(err, B2P_ERR_TDE,
                        "'%s': the private key does not decrypt with the password given (wrong password, or "
                        "not a PVK file)", key_path);
    out->private_key_decrypted = true;
    if (X509_check_private_key(cert, *key) != 1) {
        ERR_clear_error();
        return b2p_fail(err, B2P_ERR_TDE, "'%s': this private key does not belong to the certificate", key_path);
    }
    out->key_matches_certificate = true;
    return B2P_OK;
}

static b2p_status read_encrypted_key(const b2p_media *m, uint8_t *buf, b2p_error *err) {
    FILE *f = fopen(m->path, "rb");
    if (!f) return b2p_fail(err, B2P_ERR_IO, "'%s': cannot open: %s", m->path, strerror(errno));
    bool ok = fseek(f, 48, SEEK_SET) == 0 && fread(buf, 1, m->tde_key_len, f) == m->tde_key_len;
    fclose(f);
    return ok ? B2P_OK : b2p_fail(err, B2P_ERR_TRUNCATED, "'%s': offset 48: the file ends inside its encrypted key", m->path);
}

static b2p_status decrypt_database_key(const b2p_media *m, EVP_PKEY *key, b2p_tde_keys *out, b2p_error *err) {
    uint8_t *enc = malloc(m->tde_key_len), *plain = malloc(m->tde_key_len);
    if (!enc || !plain) {
        free(enc);
        free(plain);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    b2p_status st = read_encrypted_key(m, enc, err);
    for (uint32_t i = 0; !st && i < m->tde_key_len / 2; i++) { /* CryptoAPI order: reverse */
        uint8_t t = enc[i];
        enc[i] = enc[m->tde_key_len - 1 - i];
        enc[m->tde_key_len - 1 - i] = t;
    }
    size_t plain_len = m->tde_key_len;
    EVP_PKEY_CTX *ctx = st ? NULL : EVP_PKEY_CTX_new(key, NULL);
    bool ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
              EVP_PKEY_decrypt(ctx, plain, &plain_len, enc, m->tde_key_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!st && (!ok || plain_len < BLOB_HEADER || plain[0] != 8 ||
                b2p_le32(plain + 8) != plain_len - BLOB_HEADER))
        st = b2p_fail(err, B2P_ERR_TDE,
                      "'%s': offset 48: the encrypted key does not decrypt under this private key to a key blob",
                      m->path);
    if (!st) {
        out->database_key_decrypted = true;
        out->key_alg = b2p_le32(plain + 4);
        out->key_bits = (unsigned)(plain_len - BLOB_HEADER) * 8;
        snprintf(out->algorithm, sizeof out->algorithm, "%s", alg_name(out->key_alg));
    }
    OPENSSL_cleanse(plain, m->tde_key_len);
    free(plain);
    free(enc);
    return st;
}

b2p_status b2p_tde_check_keys(const b2p_media *m, const char *cert_path, const char *key_path,
                              const char *password, b2p_tde_keys *out, b2p_error *err) {
    memset(out, 0, sizeof *out);
    if (!m->tde) return b2p_fail(err, B2P_ERR_USAGE, "'%s' is not under transparent data encryption", m->path);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    b2p_status st = check_certificate(m, cert_path, &cert, out, err);
    if (!st && key_path) st = open_private_key(key_path, password ? password : "", cert, &key, out, err);
    if (!st && key) st = decrypt_database_key(m, key, out, err);
    EVP_PKEY_free(key);
    X509_free(cert);
    return st;
}
