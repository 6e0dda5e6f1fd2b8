/* The least work any tracer must do, for rows 4 and 5 of scripts/bench.sh: for each file
 * named on standard input (the program and every library of its closure, real paths, each
 * once), open it, read its first 4 KiB (ELF header, program headers), read 512 bytes more
 * (the dynamic section and its strings lie elsewhere), close it. No search, no parsing, no
 * output: whatever a tracer does beyond this is its own cost, this is the machine's.
 * Prints the bytes read, so the reads cannot be optimised away.
 *
 * Built by scripts/bench.sh with the host's cc: cc -O2 -o floor benches/floor.c */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    FILE *list = argc > 1 ? fopen(argv[1], "r") : stdin;
    if (list == NULL) {
        perror(argv[1]);
        return 2;
    }
    char path[4096], buf[4096];
    long total = 0, files = 0;
    while (fgets(path, sizeof path, list) != NULL) {
        path[strcspn(path, "\n")] = '\0';
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        ssize_t a = pread(fd, buf, sizeof buf, 0);
        ssize_t b = pread(fd, buf, 512, 8192);
        close(fd);
        if (a < 0 || b < 0) {
            perror(path);
            return 1;
        }
        total += a + b;
        files++;
    }
    printf("%ld files, %ld bytes\n", files, total);
    return 0;
}
