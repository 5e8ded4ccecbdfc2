# The CUDA backend is optional. SEGSTREAM_CUDA=AUTO builds it when a CUDA compiler is found, ON requires
# it, OFF skips it; everything else builds either way and picks the backend at run time.
#
# Architectures: the default list covers the GPUs segstream targets —
#   80  A100 (Ampere datacentre)
#   90  H100 / H200 (Hopper)
# Pick one with -DCMAKE_CUDA_ARCHITECTURES=90 (CI builds only 90 to keep the build short).
set(SEGSTREAM_HAVE_CUDA OFF)
if(NOT SEGSTREAM_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA20 flag for nvcc; device code needs no C++20
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(SEGSTREAM_HAVE_CUDA ON)
  elseif(SEGSTREAM_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SEGSTREAM_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
if(SEGSTREAM_HAVE_CUDA)
  message(STATUS "segstream: CUDA backend ON (architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "segstream: CUDA backend OFF")
endif()
