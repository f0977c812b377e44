/* bench_timer OUT_FILE COMMAND [ARGS...]: runs COMMAND (found on PATH) and writes its
 * wall-clock lifetime in seconds, from just before the spawn to the moment it has been
 * reaped, to OUT_FILE. The benchmark peers time rpbtool through this small process instead
 * of from inside Python, whose own fork/exec of a large interpreter would otherwise be
 * counted as rpbtool's start-up. Exit status: COMMAND's (127 when it cannot be started). */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_timer OUT_FILE COMMAND [ARGS...]\n");
        return 2;
    }
    struct timespec start, end;
    pid_t pid;
    int status = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ) != 0) {
        perror(argv[2]);
        return 127;
    }
    if (waitpid(pid, &status, 0) < 0) {
        perror("waitpid");
        return 127;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        perror(argv[1]);
        return 127;
    }
    fprintf(out, "%.6f\n",
            (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
