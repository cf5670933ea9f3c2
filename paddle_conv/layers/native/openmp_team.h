// The OpenMP runtime libdnnl runs on (Paddle's libiomp5, or torch's libgomp where torch was imported before
// Paddle), reached through the functions libdnnl's relocations are bound to: a call linked here might bind to
// another runtime. The operators' parallel loops run on that runtime's team, so they reuse the threads oneDNN's
// primitives leave spinning instead of competing with them for the cores. Without libdnnl loaded: std::thread.
#pragma once

#include <link.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace openmp_team {

struct Calls {
  int (*get_max_threads)() = nullptr;
  void (*set_num_threads)(int) = nullptr;
  void (*parallel)(void (*)(void*), void*, unsigned, unsigned) = nullptr;  // GOMP_parallel (GCC's ABI)
  int (*thread_num)() = nullptr;
  int (*num_threads)() = nullptr;
};

inline void bind(Calls& calls, const char* name, void* bound) {
  if (!std::strcmp(name, "omp_get_max_threads")) calls.get_max_threads = reinterpret_cast<int (*)()>(bound);
  if (!std::strcmp(name, "omp_set_num_threads")) calls.set_num_threads = reinterpret_cast<void (*)(int)>(bound);
  if (!std::strcmp(name, "GOMP_parallel"))
    calls.parallel = reinterpret_cast<void (*)(void (*)(void*), void*, unsigned, unsigned)>(bound);
  if (!std::strcmp(name, "omp_get_thread_num")) calls.thread_num = reinterpret_cast<int (*)()>(bound);
  if (!std::strcmp(name, "omp_get_num_threads")) calls.num_threads = reinterpret_cast<int (*)()>(bound);
}

inline int read_dnnl_relocations(dl_phdr_info* info, size_t, void* out) {
  if (!std::strstr(info->dlpi_name, "libdnnl.so")) return 0;
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  const ElfW(Sym)* symbols = nullptr;
  const char* names = nullptr;
  const ElfW(Rela)* tables[2] = {nullptr, nullptr};
  size_t sizes[2] = {0, 0};
  for (; dyn && dyn->d_tag != DT_NULL; ++dyn) {  // glibc has made these pointers absolute
    auto ptr = dyn->d_un.d_ptr;
    if (dyn->d_tag == DT_SYMTAB) symbols = reinterpret_cast<const ElfW(Sym)*>(ptr);
    if (dyn->d_tag == DT_STRTAB) names = reinterpret_cast<const char*>(ptr);
    if (dyn->d_tag == DT_JMPREL) tables[0] = reinterpret_cast<const ElfW(Rela)*>(ptr);
    if (dyn->d_tag == DT_RELA) tables[1] = reinterpret_cast<const ElfW(Rela)*>(ptr);
    if (dyn->d_tag == DT_PLTRELSZ) sizes[0] = dyn->d_un.d_val;
    if (dyn->d_tag == DT_RELASZ) sizes[1] = dyn->d_un.d_val;
  }
  for (int t = 0; t < 2 && symbols && names; ++t)
    for (size_t i = 0; tables[t] && i < sizes[t] / sizeof(ElfW(Rela)); ++i)
      bind(*static_cast<Calls*>(out), names + symbols[ELF64_R_SYM(tables[t][i].r_info)].st_name,
           *reinterpret_cast<void**>(info->dlpi_addr + tables[t][i].r_offset));
  return 1;
}

// libdnnl's bound OpenMP functions (those not found stay null), read once.
inline const Calls& calls() {
  static const Calls found = [] {
    Calls c;
    dl_iterate_phdr(read_dnnl_relocations, &c);
    return c;
  }();
  return found;
}

// Runs body(k, team) for k < team on up to `threads` threads of libdnnl's OpenMP team (or std::threads).
template <class Body>
void run(int threads, Body body) {
  const Calls& c = calls();
  if (threads <= 1) {
    body(0, 1);
  } else if (c.parallel && c.thread_num && c.num_threads) {
    struct Task {
      Body* body;
      const Calls* calls;
    } task{&body, &c};
    c.parallel([](void* p) {
      auto* t = static_cast<Task*>(p);
      (*t->body)(t->calls->thread_num(), t->calls->num_threads());
    }, &task, static_cast<unsigned>(threads), 0);
  } else {
    std::vector<std::thread> helpers;
    for (int k = 1; k < threads; ++k) helpers.emplace_back(body, k, threads);
    body(0, threads);
    for (auto& h : helpers) h.join();
  }
}

// Runs body(first, last) over [0, count) split into equal parts on up to `threads` threads.
template <class Body>
void for_range(int64_t count, int threads, Body body) {
  run(static_cast<int>(std::min<int64_t>(std::max(threads, 1), std::max<int64_t>(count, 1))),
      [&](int k, int team) { body(count * k / team, count * (k + 1) / team); });
}

}  // namespace openmp_team
