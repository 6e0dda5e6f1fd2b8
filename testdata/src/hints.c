/* A program that imports iconv_open (the loader does not load gconv modules: minroot's
 * glibc hints must add them) and pthread_cancel (glibc dlopens libgcc_s.so.1 for
 * unwinding). Its DT_NEEDED is only libc.so.6.
 *
 * With an argument it really cancels a thread: the worker waits in pause(), a
 * cancellation point, until it is cancelled. glibc 2.36's pthread_cancel returns early for
 * a thread that has already exited, without loading libgcc_s.so.1; a worker that returned
 * at once made the load a race (lost under qemu-user). */
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg)
{
    if (arg != NULL)
        for (;;)
            pause();
    return arg;
}

int main(int argc, char **argv)
{
    (void)argv;
    iconv_t cd = iconv_open("UTF-8", "ISO-8859-1");
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, argc > 1 ? (void *)1 : NULL) == 0) {
        if (argc > 1)
            pthread_cancel(t);
        pthread_join(t, NULL);
    }
    puts("ok");
    return 0;
}
