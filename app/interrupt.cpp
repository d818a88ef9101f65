// SIGINT handling for long runs.
#include "app/interrupt.h"

#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace lsi {

namespace {

volatile std::sig_atomic_t g_n_interrupts = 0;

void on_interrupt(int) {
  g_n_interrupts = g_n_interrupts + 1;
  if (g_n_interrupts >= 2) _exit(130);  // async-signal-safe, unlike std::exit
  static const char kMessage[] =
      "\ninterrupted: stopping after this iteration and writing the results "
      "(Ctrl-C again to quit at once)\n";
  const ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
}

}  // namespace

void install_interrupt_handler() {
  g_n_interrupts = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

bool interrupt_requested() { return g_n_interrupts > 0; }

}  // namespace lsi
