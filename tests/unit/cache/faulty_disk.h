// A RocksDB file system for tests whose appends can be made to fail ("no space") or to take
// 1.5 s each, as a full or stalled disk would.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace arkroute::cache {

// Files opened for writing fail every append with "no space" while `full` is set.
class FullDiskFileSystem : public rocksdb::FileSystemWrapper {
 public:
  using rocksdb::FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "FullDiskFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, debug);
    if (status.ok()) *result = std::make_unique<File>(std::move(*result), *this);
    return status;
  }
  std::atomic<bool> full{false};
  std::atomic<bool> slow{false};       // each append takes 1.5 s
  std::atomic<bool> appending{false};  // a slow append is in progress

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, FullDiskFileSystem& disk)
        : FSWritableFileOwnerWrapper(std::move(file)), disk_(disk) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      if (auto failure = fault()) return *failure;
      return FSWritableFileOwnerWrapper::Append(data, options, debug);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* debug) override {
      if (auto failure = fault()) return *failure;
      return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
    }

   private:
    std::optional<rocksdb::IOStatus> fault() {
      if (disk_.full) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
      if (disk_.slow) {
        disk_.appending = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        disk_.appending = false;
      }
      return std::nullopt;
    }
    FullDiskFileSystem& disk_;
  };
};

}  // namespace arkroute::cache
