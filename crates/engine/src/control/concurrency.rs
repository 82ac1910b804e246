//! Reserved concurrency, the record: PutFunctionConcurrency, GetFunctionConcurrency
//! and DeleteFunctionConcurrency. The record is stored, then handed to the executor's
//! admission, which counts invocations against it.

use hearth_model::arn::LATEST;
use hearth_model::FunctionRef;

use crate::error::EngineError;
use crate::Engine;

impl Engine {
    /// PutFunctionConcurrency: reserves `reserved` environments for the function, leaving
    /// the account's unreserved minimum and at least its provisioned concurrency.
    pub fn put_function_concurrency(
        &self,
        r: &FunctionRef,
        reserved: i64,
    ) -> Result<i64, EngineError> {
        self.unqualified(r)?;
        // AWS names the function's $LATEST when PutFunctionConcurrency finds none.
        self.entry(&FunctionRef {
            name: r.name.clone(),
            qualifier: Some(LATEST.into()),
        })?;
        self.inner
            .executor
            .admission()
            .check_reservation(&r.name, reserved)?;
        let provisioned = self.provisioned_total(&r.name, None)?;
        if reserved < provisioned {
            return Err(EngineError::Invalid(format!(
                "ReservedConcurrentExecutions {reserved} should not be lower than function's total provisioned concurrency [{provisioned}]."
            )));
        }
        self.inner
            .store
            .metadata()
            .set_reserved(&r.name, Some(reserved))?;
        self.inner
            .executor
            .admission()
            .set_reserved(&r.name, Some(reserved));
        Ok(reserved)
    }

    /// GetFunctionConcurrency: `None` when nothing is reserved.
    pub fn get_function_concurrency(&self, r: &FunctionRef) -> Result<Option<i64>, EngineError> {
        self.unqualified(r)?;
        self.entry(r)?;
        Ok(self.inner.executor.admission().reserved(&r.name))
    }

    pub fn delete_function_concurrency(&self, r: &FunctionRef) -> Result<(), EngineError> {
        self.unqualified(r)?;
        self.entry(r)?;
        self.inner.store.metadata().set_reserved(&r.name, None)?;
        self.inner.executor.admission().set_reserved(&r.name, None);
        Ok(())
    }

    /// Reserved concurrency belongs to the function, not to a version.
    fn unqualified(&self, r: &FunctionRef) -> Result<(), EngineError> {
        match r.qualifier.as_deref() {
            None => Ok(()),
            Some(_) => Err(EngineError::Invalid(
                "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.".into(),
            )),
        }
    }
}
