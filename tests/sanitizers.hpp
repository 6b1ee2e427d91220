#pragma once
// GRAPHNN_UNDER_ASAN / GRAPHNN_UNDER_TSAN: 1 when built with -fsanitize=address
// / thread. GCC says so with __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang
// 14 only through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define GRAPHNN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GRAPHNN_UNDER_ASAN 1
#endif
#endif
#ifndef GRAPHNN_UNDER_ASAN
#define GRAPHNN_UNDER_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define GRAPHNN_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GRAPHNN_UNDER_TSAN 1
#endif
#endif
#ifndef GRAPHNN_UNDER_TSAN
#define GRAPHNN_UNDER_TSAN 0
#endif
