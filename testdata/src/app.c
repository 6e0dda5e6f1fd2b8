/* One tiny program of the fixtures. CALLS lists the library functions it uses, as
 * -DCALLS='X(foo_value) X(bar_value)'; each one makes the linker record the library that
 * defines it in DT_NEEDED. It prints the sum, so a run shows which builds were loaded. */
#include <stdio.h>

#ifndef CALLS
#define CALLS
#endif

#define X(f) int f(void);
CALLS
#undef X

int main(void)
{
    int sum = 0;
#define X(f) sum += f();
    CALLS
#undef X
    printf("%d\n", sum);
    return 0;
}
