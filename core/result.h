#pragma once

#include <QString>

#include <optional>
#include <utility>

namespace studio {

// The one error shape of the project: errors are values. A fallible function returns Result<T>
// (a value, or a message naming the problem) or Status (nothing, or a message). Nothing in the
// libraries throws, exits or shows a dialog; the caller decides how to tell the user.
template<typename T>
struct [[nodiscard]] Result {
    std::optional<T> value;
    QString error;

    explicit operator bool() const { return value.has_value(); }
    static Result failure(QString message) { return {std::nullopt, std::move(message)}; }
};

template<>
struct [[nodiscard]] Result<void> {
    QString error;
    bool failed = false;

    explicit operator bool() const { return !failed; }
    static Result success() { return {}; }
    static Result failure(QString message) { return {std::move(message), true}; }
};

using Status = Result<void>;

} // namespace studio
