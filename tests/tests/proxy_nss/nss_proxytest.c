/* A small NSS module for the proxy provider tests: libnss_proxytest.so.2.
 * Users pxuser1 (5001), pxuser2 (5002), pxlogin (5010), pxbig (5003, a 20000-byte gecos
 * that needs a larger buffer), pxhang (5900: sleeps forever), pxcrash (5901: aborts).
 * Groups pxgroup1 (5001: pxuser1, pxuser2), pxgroup2 (5002: pxuser1), pxhanggrp (5900:
 * sleeps), pxcrashgrp (5901: aborts). Enumeration lists neither pxhang nor pxcrash.
 * The name pxunavail answers NSS_STATUS_UNAVAIL (the source is unreachable). */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct u { const char *name; uid_t uid; gid_t gid; const char *gecos; };
static const struct u users[] = {
    {"pxuser1", 5001, 5001, "Proxy User One"},
    {"pxuser2", 5002, 5001, "Proxy User Two"},
    {"pxbig", 5003, 5001, NULL},
    {"pxlogin", 5010, 5001, "Proxy Login"},
    {"pxhang", 5900, 5001, "hangs"},
    {"pxcrash", 5901, 5001, "crashes"},
};
#define NUSERS (sizeof(users) / sizeof(users[0]))
#define NENUM 4 /* the first NENUM users are enumerated */

struct g { const char *name; gid_t gid; const char *members[3]; };
static const struct g groups[] = {
    {"pxgroup1", 5001, {"pxuser1", "pxuser2", NULL}},
    {"pxgroup2", 5002, {"pxuser1", NULL, NULL}},
    {"pxhanggrp", 5900, {NULL, NULL, NULL}},
    {"pxcrashgrp", 5901, {NULL, NULL, NULL}},
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))
#define NGENUM 2

static void misbehave(unsigned id) {
    if (id == 5900) for (;;) pause();
    if (id == 5901) abort();
}

static char *put(char **buf, size_t *left, const char *s) {
    size_t n = strlen(s) + 1;
    if (n > *left) return NULL;
    char *p = *buf;
    memcpy(p, s, n);
    *buf += n; *left -= n;
    return p;
}

static enum nss_status fill_pw(const struct u *e, struct passwd *pw, char *buf, size_t len, int *errnop) {
    static char big[20001];
    const char *gecos = e->gecos;
    if (!gecos) { memset(big, 'x', 20000); big[20000] = 0; gecos = big; }
    char home[64];
    strcpy(home, "/home/"); strcat(home, e->name);
    pw->pw_uid = e->uid; pw->pw_gid = e->gid;
    if (!(pw->pw_name = put(&buf, &len, e->name)) || !(pw->pw_passwd = put(&buf, &len, "x")) ||
        !(pw->pw_gecos = put(&buf, &len, gecos)) || !(pw->pw_dir = put(&buf, &len, home)) ||
        !(pw->pw_shell = put(&buf, &len, "/bin/sh"))) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    return NSS_STATUS_SUCCESS;
}

static enum nss_status fill_gr(const struct g *e, struct group *gr, char *buf, size_t len, int *errnop) {
    size_t n = 0;
    while (n < 3 && e->members[n]) n++;
    size_t align = (sizeof(char *) - ((size_t)buf % sizeof(char *))) % sizeof(char *);
    if (len < align + (n + 1) * sizeof(char *)) { *errnop = ERANGE; return NSS_STATUS_TRYAGAIN; }
    buf += align; len -= align;
    char **mem = (char **)buf;
    buf += (n + 1) * sizeof(char *); len -= (n + 1) * sizeof(char *);
    gr->gr_gid = e->gid;
    if (!(gr->gr_name = put(&buf, &len, e->name)) || !(gr->gr_passwd = put(&buf, &len, "x"))) {
        *errnop = ERANGE; return NSS_STATUS_TRYAGAIN;
    }
    for (size_t i = 0; i < n; i++)
        if (!(mem[i] = put(&buf, &len, e->members[i]))) { *errnop = ERANGE; return NSS_STATUS_TRYAGAIN; }
    mem[n] = NULL;
    gr->gr_mem = mem;
    return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_proxytest_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *errnop) {
    if (strcmp(name, "pxunavail") == 0) { *errnop = EIO; return NSS_STATUS_UNAVAIL; }
    for (size_t i = 0; i < NUSERS; i++)
        if (strcmp(users[i].name, name) == 0) { misbehave(users[i].uid); return fill_pw(&users[i], pw, buf, len, errnop); }
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_proxytest_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop) {
    for (size_t i = 0; i < NUSERS; i++)
        if (users[i].uid == uid) { misbehave(uid); return fill_pw(&users[i], pw, buf, len, errnop); }
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_proxytest_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop) {
    for (size_t i = 0; i < NGROUPS; i++)
        if (strcmp(groups[i].name, name) == 0) { misbehave(groups[i].gid); return fill_gr(&groups[i], gr, buf, len, errnop); }
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_proxytest_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop) {
    for (size_t i = 0; i < NGROUPS; i++)
        if (groups[i].gid == gid) { misbehave(gid); return fill_gr(&groups[i], gr, buf, len, errnop); }
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_proxytest_initgroups_dyn(const char *user, gid_t skip, long *start, long *size,
                                              gid_t **gids, long limit, int *errnop) {
    (void)limit; (void)errnop;
    for (size_t i = 0; i < NGROUPS; i++) {
        if (groups[i].gid == skip) continue;
        for (size_t m = 0; m < 3 && groups[i].members[m]; m++) {
            if (strcmp(groups[i].members[m], user) != 0) continue;
            if (*start == *size) {
                gid_t *n = realloc(*gids, (size_t)(*size * 2) * sizeof(gid_t));
                if (!n) return NSS_STATUS_TRYAGAIN;
                *gids = n; *size *= 2;
            }
            (*gids)[(*start)++] = groups[i].gid;
        }
    }
    return NSS_STATUS_SUCCESS;
}

static size_t pw_pos, gr_pos;
enum nss_status _nss_proxytest_setpwent(int stayopen) { (void)stayopen; pw_pos = 0; return NSS_STATUS_SUCCESS; }
enum nss_status _nss_proxytest_endpwent(void) { return NSS_STATUS_SUCCESS; }
enum nss_status _nss_proxytest_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop) {
    if (pw_pos >= NENUM) { *errnop = ENOENT; return NSS_STATUS_NOTFOUND; }
    enum nss_status st = fill_pw(&users[pw_pos], pw, buf, len, errnop);
    if (st == NSS_STATUS_SUCCESS) pw_pos++;
    return st;
}
enum nss_status _nss_proxytest_setgrent(int stayopen) { (void)stayopen; gr_pos = 0; return NSS_STATUS_SUCCESS; }
enum nss_status _nss_proxytest_endgrent(void) { return NSS_STATUS_SUCCESS; }
enum nss_status _nss_proxytest_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop) {
    if (gr_pos >= NGENUM) { *errnop = ENOENT; return NSS_STATUS_NOTFOUND; }
    enum nss_status st = fill_gr(&groups[gr_pos], gr, buf, len, errnop);
    if (st == NSS_STATUS_SUCCESS) gr_pos++;
    return st;
}
